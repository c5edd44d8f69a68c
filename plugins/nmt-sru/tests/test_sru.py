"""nmt-sru against the nmt cell contract. Run after `pip install -e plugins/nmt-sru`."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest
import torch

from nmt import registry
from nmt.config import ModelConfig
from nmt.contracts import check
from nmt.model import build_model
from nmt.recurrent import RecurrentStack
from nmt_sru import SRUCell

# Tiny models gain nothing from threads, and on a busy machine threads make them crawl.
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_registered_through_its_entry_point_with_provenance():
    comp = registry.get("cells", "sru")
    assert (comp.distribution, comp.version) == ("nmt-sru", "0.1.0")
    assert comp.load() is SRUCell
    assert check("cells", SRUCell) is None


def test_single_step_shapes_and_state():
    cell = SRUCell(3, 5)
    state = cell.initial_state(2, torch.device("cpu"), torch.float32)
    assert [tuple(s.shape) for s in state] == [(2, 5)]
    h, (c,) = cell(torch.randn(2, 3), state)
    assert h.shape == c.shape == (2, 5)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("input_size", [4, 6])  # 6 == hidden: identity highway, no projection
def test_fused_path_matches_the_generic_loop_with_gradients(bidirectional, input_size):
    torch.manual_seed(0)
    stack = RecurrentStack(SRUCell, input_size, 6, num_layers=2, bidirectional=bidirectional,
                           dropout=0.3)
    assert stack.use_fused
    x = torch.randn(4, 7, input_size)
    lengths = torch.tensor([7, 3, 1, 5])
    runs = []
    for fused in (True, False):
        stack.use_fused = fused
        stack.zero_grad()
        torch.manual_seed(1)  # training mode: both paths must draw the same dropout masks
        out, (c,) = stack(x, lengths)
        (out.square().sum() + c.sum()).backward()
        runs.append((out, c, [p.grad.clone() for p in stack.parameters()]))
    (f_out, f_c, f_grads), (l_out, l_c, l_grads) = runs
    torch.testing.assert_close(f_out, l_out, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(f_c, l_c, atol=1e-5, rtol=1e-4)
    for a, b in zip(f_grads, l_grads):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    assert f_out[1, 3:].abs().sum() == 0 and f_out[2, 1:].abs().sum() == 0


def test_padding_does_not_change_a_sentence():
    torch.manual_seed(0)
    stack = RecurrentStack(SRUCell, 4, 6, num_layers=2, bidirectional=True).eval()
    x = torch.randn(2, 6, 4)
    alone, _ = stack(x[1:, :3], torch.tensor([3]))
    batched, _ = stack(x, torch.tensor([6, 3]))
    torch.testing.assert_close(batched[1, :3], alone[0], atol=1e-5, rtol=1e-4)


def test_a_tiny_model_with_sru_learns_to_copy():
    torch.manual_seed(0)
    rng = random.Random(0)
    vocab = 10
    cfg = ModelConfig(cell="sru", embedding_size=16, encoder_hidden_size=16,
                      decoder_hidden_size=32, dropout=0.0)
    model, provenance = build_model(cfg, vocab, vocab)
    assert provenance["cell"]["distribution"] == "nmt-sru"
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        src = torch.tensor([[rng.randint(4, vocab - 1) for _ in range(4)] for _ in range(16)])
        tgt_in = torch.cat([torch.full((16, 1), 2), src], dim=1)
        tgt_out = torch.cat([src, torch.full((16, 1), 3)], dim=1)
        logits = model(src, torch.full((16,), 4), tgt_in)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), tgt_out.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) < 0.75 * sum(losses[:5])  # chance level is ln(10) = 2.3


def test_trains_saves_loads_and_translates_through_the_cli(tmp_path):
    words = "one two three four five six seven eight nine ten".split()
    french = dict(zip(words, "un deux trois quatre cinq six sept huit neuf dix".split()))
    rng = random.Random(0)
    for split, n in (("train", 160), ("dev", 4)):
        lines = []
        for _ in range(n):
            sentence = [rng.choice(words) for _ in range(rng.randint(2, 5))]
            lines.append(" ".join(sentence) + "\t" + " ".join(french[w] for w in sentence))
        (tmp_path / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = {
        "data": {"train": str(tmp_path / "train.tsv"), "dev": str(tmp_path / "dev.tsv")},
        "tokenizer": {"type": "word", "vocab_size": 40, "min_frequency": 1},
        "model": {"cell": "sru", "embedding_size": 16, "encoder_hidden_size": 16,
                  "decoder_hidden_size": 32, "encoder_layers": 2},
        "training": {"batch_tokens": 300, "max_steps": 4, "eval_every": 4, "log_every": 2},
        "decoding": {"beam": 2},
    }
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    model = tmp_path / "model"
    nmt = [sys.executable, "-m", "nmt"]
    subprocess.run([*nmt, "train", "--config", str(tmp_path / "config.json"), "--out", str(model),
                    "--quiet"], check=True, capture_output=True, text=True, env=ONE_THREAD)
    meta = json.loads((model / "nmt.json").read_text(encoding="utf-8"))
    assert meta["components"]["cell"] == {"name": "sru", "distribution": "nmt-sru",
                                          "version": "0.1.0"}
    out = subprocess.run([*nmt, "translate", "--model", str(model)], input="one two\nthree\n",
                         check=True, capture_output=True, text=True, env=ONE_THREAD).stdout
    assert len(out.splitlines()) == 2
