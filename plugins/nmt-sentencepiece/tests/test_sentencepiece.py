"""nmt-sentencepiece against the nmt tokenizer contract.

Run after `pip install -e plugins/nmt-sentencepiece`.
"""

from __future__ import annotations

import json

import pytest

from nmt import NmtError, registry
from nmt.contracts import check
from nmt.testing import train_and_translate
from nmt_sentencepiece import SentencePieceBPETokenizer, SentencePieceTokenizer

CORPUS = [
    "The book of the generation of Jesus Christ, the son of David.",
    "Abraham begat Isaac; and Isaac begat Jacob; and Jacob begat Judas and his brethren.",
    "Généalogie de Jésus Christ, fils de David, fils d'Abraham.",
    "Abraham engendra Isaac; Isaac engendra Jacob; Jacob engendra Juda et ses frères.",
] * 5



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
    meta, out = train_and_translate(tmp_path, tokenizer={"type": "sentencepiece", "vocab_size": 60})
    assert meta["components"]["tokenizer"] == {
        "name": "sentencepiece", "distribution": "nmt-sentencepiece", "version": "0.1.0"}
    assert len(out) == 2
