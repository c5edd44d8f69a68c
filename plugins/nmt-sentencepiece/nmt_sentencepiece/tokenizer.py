"""SentencePiece (Kudo & Richardson 2018) as an nmt tokenizer: unigram or BPE over raw text.

SentencePiece treats the input as a raw character stream (spaces become ``▁``), so it needs no
language-specific pre-tokenisation and detokenises exactly what it segmented; its unigram model
(Kudo 2018) is the usual choice for subword NMT. Text is NFKC-normalised, as SentencePiece does
by default.

The trained model is a serialized protobuf. nmt stores each tokenizer in a ``*.json`` file, so
``save`` wraps the protobuf (base64) in a small JSON document instead of writing bytes under a
misleading name; ``load`` reads it back. Nothing is unpickled.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Iterable
from pathlib import Path

import sentencepiece as spm

from nmt.errors import NmtError

FORMAT = "nmt-sentencepiece"
FORMAT_VERSION = 1


class SentencePieceTokenizer:
    """A trained SentencePiece unigram model with nmt's special ids (pad 0, unk 1, bos 2, eos 3)."""

    contract = 1  # the nmt plugin contract this class was written for
    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3
    model_type = "unigram"

    def __init__(self, model_proto: bytes) -> None:
        self.model_proto = model_proto
        self.processor = spm.SentencePieceProcessor(model_proto=model_proto)
        specials = [self.processor.pad_id(), self.processor.unk_id(), self.processor.bos_id(),
                    self.processor.eos_id()]
        if specials != [self.pad_id, self.unk_id, self.bos_id, self.eos_id]:
            raise NmtError(
                f"this SentencePiece model has special ids pad/unk/bos/eos = {specials}; nmt needs "
                "0/1/2/3. Train it with `train` (or pass pad_id=0 unk_id=1 bos_id=2 eos_id=3)."
            )

    @classmethod
    def train(
        cls, texts: Iterable[str], vocab_size: int, min_frequency: int = 2
    ) -> SentencePieceTokenizer:
        """Train on ``texts``. SentencePiece has no minimum frequency, so ``min_frequency`` is
        ignored; on a small corpus the vocabulary may come out smaller than ``vocab_size``."""
        model = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(texts),
                model_writer=model,
                model_type=cls.model_type,
                vocab_size=vocab_size,
                hard_vocab_limit=False,  # a small corpus may not support vocab_size pieces
                character_coverage=1.0,  # never map a character seen in training to <unk>
                pad_id=0, unk_id=1, bos_id=2, eos_id=3,
                pad_piece="<pad>", unk_piece="<unk>", bos_piece="<s>", eos_piece="</s>",
                num_threads=max(1, min(16, os.cpu_count() or 1)),
                minloglevel=2,  # errors only: training a tokenizer is not news
            )
        except RuntimeError as exc:
            raise NmtError(
                f"SentencePiece could not train a {cls.model_type} model with vocab_size="
                f"{vocab_size}: {exc}. Use more text or a smaller tokenizer.vocab_size."
            ) from exc
        return cls(model.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> SentencePieceTokenizer:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
            if document.get("format") != FORMAT:
                raise ValueError(f"not an {FORMAT} file")
            if document.get("version") != FORMAT_VERSION:
                raise ValueError(f"format version {document.get('version')!r}, expected "
                                 f"{FORMAT_VERSION}; upgrade nmt-sentencepiece")
            proto = base64.b64decode(document["model"], validate=True)
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            raise NmtError(f"{path} is not a SentencePiece tokenizer saved by nmt: {exc}") from exc
        return cls(proto)

    def save(self, path: str | Path) -> None:
        document = {"format": FORMAT, "version": FORMAT_VERSION, "model_type": self.model_type,
                    "model": base64.b64encode(self.model_proto).decode("ascii")}
        Path(path).write_text(json.dumps(document), encoding="utf-8")

    @property
    def vocab_size(self) -> int:
        return self.processor.get_piece_size()

    def encode(self, text: str) -> list[int]:
        return self.processor.encode(text, out_type=int)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return self.processor.encode(list(texts), out_type=int)

    def decode(self, ids: list[int]) -> str:
        """Text for ``ids``; special ids (unk included, as nmt's built-ins do) are left out."""
        return self.processor.decode([int(i) for i in ids if i > self.eos_id])

    def pieces(self, ids: list[int]) -> list[str]:
        """A readable string per id (for attention heatmaps and debugging)."""
        return [self.processor.id_to_piece(int(i)) for i in ids]


class SentencePieceBPETokenizer(SentencePieceTokenizer):
    """SentencePiece's BPE model (Sennrich et al. 2016 over raw text)."""

    model_type = "bpe"
