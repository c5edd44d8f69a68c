"""Every built-in tokenizer trains on real text and keeps the shared special ids."""

from __future__ import annotations

import pytest

from nmt import registry

SAMPLE = "Jésus lui dit: «Je suis le chemin, la vérité, et la vie.»"


@pytest.fixture(scope="module")
def corpus(data_dir):
    return (data_dir / "bible-sample.train.fr").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("name", ["bpe", "unigram", "wordpiece", "char", "word"])
def test_tokenizer_trains_saves_and_loads(name, corpus, tmp_path):
    cls = registry.load("tokenizers", name)
    tok = cls.train(corpus, vocab_size=300, min_frequency=1)
    assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id) == (0, 1, 2, 3)
    ids = tok.encode(SAMPLE)
    assert ids and all(i > 3 or i == tok.unk_id for i in ids)
    assert len(tok.pieces(ids)) == len(ids)
    tok.save(tmp_path / "tok.json")
    again = cls.load(tmp_path / "tok.json")
    assert again.encode(SAMPLE) == ids and again.decode(ids) == tok.decode(ids)


@pytest.mark.parametrize("text", [SAMPLE, "  two  spaces ", "漢字 and emoji 🙂", "tab\there"])
def test_byte_level_bpe_round_trips_any_text(text, corpus):
    tok = registry.load("tokenizers", "bpe").train(corpus, vocab_size=300)
    assert tok.decode(tok.encode(text)) == text


def test_subword_tokenizers_round_trip_seen_text(corpus):
    for name in ("unigram", "char"):
        tok = registry.load("tokenizers", name).train(corpus, vocab_size=2000, min_frequency=1)
        assert tok.decode(tok.encode(corpus[0])) == corpus[0]
