"""Fine-tuning (training.init_from) and prefix pairs for re-translation (training.prefix_pairs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import DATA, micro_config
from safetensors.torch import load_file

from nmt import checkpoint
from nmt.errors import NmtError
from nmt.training.prefixes import prefix_pairs
from nmt.training.trainer import train


def read(name: str) -> list[str]:
    return (DATA / name).read_text(encoding="utf-8").splitlines()


def test_prefix_pairs_cut_words_proportionally_and_repeatably():
    src, tgt = read("bible-sample.train.en"), read("bible-sample.train.fr")
    got_src, got_tgt = prefix_pairs(src, tgt, 0.5, seed=7)
    assert (got_src, got_tgt) == prefix_pairs(src, tgt, 0.5, seed=7)
    assert prefix_pairs(src, tgt, 0.5, seed=8) != (got_src, got_tgt)
    multi_word = sum(len(s.split()) > 1 for s in src)
    assert abs(len(got_src) - round(0.5 * len(src))) <= len(src) - multi_word
    by_source = {}
    for s, t in zip(src, tgt):
        by_source.setdefault(s.split()[0], []).append((s.split(), t.split()))
    for s, t in zip(got_src, got_tgt):
        words, target = s.split(), t.split()
        # a proper word prefix of some training source, with the proportional target prefix
        matches = [(fs, ft) for fs, ft in by_source[words[0]]
                   if fs[: len(words)] == words and len(words) < len(fs)
                   and ft[: len(target)] == target
                   and len(target) == max(1, round(len(words) * len(ft) / len(fs)))]
        assert matches, (s, t)
    assert prefix_pairs(src, tgt, 0.0, seed=7) == ([], [])


def test_prefix_pairs_train_alongside_the_whole_pairs(tmp_path):
    run = tmp_path / "run"
    train(micro_config(max_steps=2, eval_every=2, prefix_pairs=0.5), run, progress=False)
    start = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
    examples = json.loads((run / checkpoint.META).read_text())["examples"]
    dev = read("bible-sample.dev.en")
    assert len(examples) == 5 and set(examples) <= set(dev)  # held-out sources for the UI
    assert start["prefix_pairs"] > 100
    assert start["train_pairs"] == 240 + start["prefix_pairs"] - start["dropped"]


def test_init_from_starts_from_the_model_and_keeps_its_tokenizers(tmp_path):
    first = tmp_path / "first"
    train(micro_config(max_steps=4, eval_every=4), first, progress=False)
    # A near-zero learning rate: one update leaves the weights where the first run ended.
    second = tmp_path / "second"
    cfg = micro_config(max_steps=1, eval_every=1, learning_rate=1e-9, init_from=str(first),
                       seed=11)
    cfg.data.max_train_examples = 60  # other data: tokenizers trained on it would differ
    train(cfg, second, progress=False)
    for name in (checkpoint.SRC_TOKENIZER, checkpoint.TGT_TOKENIZER):
        assert (second / name).read_bytes() == (first / name).read_bytes()
    before, after = load_file(str(first / checkpoint.WEIGHTS)), load_file(str(second / checkpoint.WEIGHTS))
    assert before.keys() == after.keys()
    for key in before:
        torch.testing.assert_close(after[key], before[key], atol=1e-6, rtol=0, msg=key)
    # and without init_from, the same run starts elsewhere
    third = tmp_path / "third"
    cfg.training.init_from = None
    train(cfg, third, progress=False)
    fresh = load_file(str(third / checkpoint.WEIGHTS))
    assert any(fresh[k].shape != before[k].shape or not torch.allclose(fresh[k], before[k])
               for k in before)


def test_init_from_refuses_another_architecture_by_name(tmp_path):
    first = tmp_path / "first"
    train(micro_config(max_steps=1, eval_every=1), first, progress=False)
    cfg = micro_config(max_steps=1, init_from=str(first))
    cfg.model.decoder_hidden_size = 48
    cfg.model.dropout = 0.3  # dropout may change when fine-tuning
    with pytest.raises(NmtError) as info:
        train(cfg, tmp_path / "second", progress=False)
    message = str(info.value)
    assert "decoder_hidden_size (32 there, 48 here)" in message
    assert "dropout" not in message
    with pytest.raises(NmtError, match="training.init_from: .*does not exist"):
        train(micro_config(init_from=str(tmp_path / "nowhere")), tmp_path / "third", progress=False)
    assert not Path(tmp_path / "second" / checkpoint.WEIGHTS).exists()
