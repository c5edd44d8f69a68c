"""nmt-sentencepiece against the nmt tokenizer contract.

Run after `pip install -e plugins/nmt-sentencepiece`.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import pytest

from nmt import NmtError, registry
from nmt.contracts import check
from nmt_sentencepiece import SentencePieceBPETokenizer, SentencePieceTokenizer

CORPUS = [
    "The book of the generation of Jesus Christ, the son of David.",
    "Abraham begat Isaac; and Isaac begat Jacob; and Jacob begat Judas and his brethren.",
    "Généalogie de Jésus Christ, fils de David, fils d'Abraham.",
    "Abraham engendra Isaac; Isaac engendra Jacob; Jacob engendra Juda et ses frères.",
] * 5

# Tiny models gain nothing from threads, and on a busy machine threads make them crawl.
ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.mark.parametrize("name,cls", [("sentencepiece", SentencePieceTokenizer),
                                      ("sentencepiece-bpe", SentencePieceBPETokenizer)])
def test_registered_through_entry_points_with_provenance(name, cls):
    comp = registry.get("tokenizers", name)
    assert (comp.distribution, comp.version) == ("nmt-sentencepiece", "0.1.0")
    assert comp.load() is cls
    assert check("tokenizers", cls) is None


@pytest.mark.parametrize("cls", [SentencePieceTokenizer, SentencePieceBPETokenizer])
def test_train_save_load_round_trip(cls, tmp_path):
    tok = cls.train(CORPUS, vocab_size=80)
    assert 4 < tok.vocab_size <= 80
    assert tok.pieces([0, 1, 2, 3]) == ["<pad>", "<unk>", "<s>", "</s>"]
    text = "Jacob engendra Juda, the son of David."
    ids = tok.encode(text)
    assert min(ids) > 3 and tok.decode(ids) == text
    assert tok.decode([2, *ids, 3, 0, 0]) == text  # special ids never reach the text
    assert tok.encode_batch([text, "Isaac"]) == [ids, tok.encode("Isaac")]
    tok.save(tmp_path / "tok.json")
    assert json.loads((tmp_path / "tok.json").read_text())["format"] == "nmt-sentencepiece"
    again = cls.load(tmp_path / "tok.json")
    assert again.vocab_size == tok.vocab_size and again.encode(text) == ids


def test_unseen_characters_become_unk_and_vanish_in_decoding():
    tok = SentencePieceTokenizer.train(CORPUS, vocab_size=60)
    ids = tok.encode("David 山")
    assert tok.unk_id in ids
    assert tok.decode(ids).strip() == "David"


def test_clear_errors_for_bad_files_and_untrainable_input(tmp_path):
    (tmp_path / "bpe.json").write_text('{"model": {"type": "BPE"}}', encoding="utf-8")
    with pytest.raises(NmtError, match="not a SentencePiece tokenizer saved by nmt"):
        SentencePieceTokenizer.load(tmp_path / "bpe.json")
    with pytest.raises(NmtError, match="could not train"):
        SentencePieceTokenizer.train([], vocab_size=50)


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
        "tokenizer": {"type": "sentencepiece", "vocab_size": 60},
        "model": {"embedding_size": 16, "encoder_hidden_size": 16, "decoder_hidden_size": 32},
        "training": {"batch_tokens": 300, "max_steps": 4, "eval_every": 4, "log_every": 2},
        "decoding": {"beam": 2},
    }
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    model = tmp_path / "model"
    nmt = [sys.executable, "-m", "nmt"]
    subprocess.run([*nmt, "train", "--config", str(tmp_path / "config.json"), "--out", str(model),
                    "--quiet"], check=True, capture_output=True, text=True, env=ONE_THREAD)
    meta = json.loads((model / "nmt.json").read_text(encoding="utf-8"))
    assert meta["components"]["tokenizer"] == {
        "name": "sentencepiece", "distribution": "nmt-sentencepiece", "version": "0.1.0"}
    out = subprocess.run([*nmt, "translate", "--model", str(model)], input="one two\nthree\n",
                         check=True, capture_output=True, text=True, env=ONE_THREAD).stdout
    assert len(out.splitlines()) == 2
