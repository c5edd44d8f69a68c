"""What a plugin's own tests need from nmt beyond the contract: a task a tiny model must learn,
and a whole train-save-load-translate run through the command line.

:mod:`nmt.contracts` checks a component's shapes and methods on tiny tensors; these check that
a model built with it learns and that nmt's commands carry it end to end, with nmt's real
trainer, checkpoints and entry points (nothing mocked). The plugins under ``plugins/`` and the
packages ``nmt plugins new`` writes test themselves with them::

    from nmt.testing import copy_task_losses, tiny_config, train_and_translate

    def test_a_tiny_model_learns():
        losses = copy_task_losses(tiny_config(cell="mycell"))
        assert sum(losses[-5:]) < 0.8 * sum(losses[:5])   # chance is ln(10) = 2.3

    def test_through_the_cli(tmp_path):
        meta, out = train_and_translate(tmp_path, model={"cell": "mycell"})
        assert meta["components"]["cell"]["distribution"] == "nmt-mycell"

The assertions stay in the plugin's tests, so a reader sees what passing means.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

from nmt.config import ModelConfig
from nmt.model import build_model

_NUMBERS = dict(zip("one two three four five six seven eight nine ten".split(),
                    "un deux trois quatre cinq six sept huit neuf dix".split()))


def tiny_config(**fields: Any) -> ModelConfig:
    """A model config small enough to train in a test (embeddings and encoder 16, decoder 32,
    no dropout), with ``fields`` (e.g. ``cell="mycell"``) on top."""
    return ModelConfig(**{"embedding_size": 16, "encoder_hidden_size": 16,
                          "decoder_hidden_size": 32, "dropout": 0.0, **fields})


def copy_task_losses(cfg: ModelConfig, steps: int = 40, seed: int = 0) -> list[float]:
    """The training loss at each of ``steps`` Adam updates (lr 1e-2, batches of 16) of a model
    built from ``cfg`` (see :func:`tiny_config`) that learns to copy four random tokens of a
    10-piece vocabulary. A model that learns ends well below ln(10) = 2.3, chance level; one
    whose component drops the source, or leaks padding into it, does not. Seeds torch's global
    generator (as any test that trains does)."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    vocab, batch, length = 10, 16, 4
    model, _ = build_model(cfg, vocab, vocab)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        src = torch.tensor([[rng.randint(4, vocab - 1) for _ in range(length)] for _ in range(batch)])
        tgt_in = torch.cat([torch.full((batch, 1), 2), src], dim=1)  # 2: <s>, 3: </s>
        tgt_out = torch.cat([src, torch.full((batch, 1), 3)], dim=1)
        logits = model(src, torch.full((batch,), length), tgt_in)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), tgt_out.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def train_and_translate(workdir: Path, model: dict[str, Any] | None = None,
                        tokenizer: dict[str, Any] | None = None,
                        inputs: tuple[str, ...] = ("one two", "three")) -> tuple[dict, list[str]]:
    """Train a tiny model for four updates with ``nmt train`` on English -> French number words
    (160 pairs written under ``workdir``), then translate ``inputs`` with ``nmt translate``;
    returns the model's ``nmt.json`` and the output lines.

    ``model`` is the config's section as a user writes it (e.g. ``{"cell": "sru"}``), over tiny
    sizes; ``tokenizer`` replaces the default section (a word tokenizer of 40 pieces). Both commands run as
    subprocesses of this interpreter, so the plugin is found through its installed entry point
    exactly as a user's run finds it; a failure raises with the command's stderr."""
    workdir = Path(workdir)
    rng = random.Random(0)
    words = list(_NUMBERS)
    for split, n in (("train", 160), ("dev", 4)):
        lines = []
        for _ in range(n):
            sentence = [rng.choice(words) for _ in range(rng.randint(2, 5))]
            lines.append(" ".join(sentence) + "\t" + " ".join(_NUMBERS[w] for w in sentence))
        (workdir / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = {
        "data": {"train": str(workdir / "train.tsv"), "dev": str(workdir / "dev.tsv")},
        "tokenizer": tokenizer or {"type": "word", "vocab_size": 40, "min_frequency": 1},
        "model": {"embedding_size": 16, "encoder_hidden_size": 16, "decoder_hidden_size": 32,
                  **(model or {})},
        "training": {"batch_tokens": 300, "max_steps": 4, "eval_every": 4, "log_every": 2},
        "decoding": {"beam": 2},
    }
    (workdir / "config.json").write_text(json.dumps(config), encoding="utf-8")
    out = workdir / "model"
    _nmt("train", "--config", str(workdir / "config.json"), "--out", str(out), "--quiet")
    meta = json.loads((out / "nmt.json").read_text(encoding="utf-8"))
    translated = _nmt("translate", "--model", str(out), stdin="".join(f"{x}\n" for x in inputs))
    return meta, translated.splitlines()


def _nmt(*args: str, stdin: str | None = None) -> str:
    # One thread: a tiny model gains nothing from more, and on a busy machine they make it crawl.
    done = subprocess.run([sys.executable, "-m", "nmt", *args], input=stdin, capture_output=True,
                          text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)
    if done.returncode != 0:
        raise AssertionError(f"nmt {args[0]} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout
