"""Built-in tokenizers over Hugging Face ``tokenizers``: byte-level BPE, unigram, WordPiece,
characters and words.

Every tokenizer shares four special ids (pad 0, unk 1, bos 2, eos 3) so that models, batching
and search never need to ask which tokenizer made the ids. The tokenizer never sees tensors.
``bpe`` is byte-level: it round-trips every string exactly and has no unknown token; the others
map characters unseen in training to ``<unk>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIALS = [PAD, UNK, BOS, EOS]


class HFTokenizer:
    """A trained Hugging Face tokenizer with nmt's special ids; subclasses choose the model."""

    contract = 1
    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        for i, token in enumerate(SPECIALS):
            if tokenizer.token_to_id(token) != i:
                raise ValueError(f"tokenizer must map {token} to id {i}")

    # -- what subclasses define -------------------------------------------------------------
    @classmethod
    def _untrained(cls, vocab_size: int, min_frequency: int) -> tuple[Tokenizer, trainers.Trainer]:
        raise NotImplementedError

    # -- the contract ------------------------------------------------------------------------
    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> HFTokenizer:
        tokenizer, trainer = cls._untrained(vocab_size, min_frequency)
        tokenizer.train_from_iterator(texts, trainer=trainer)
        return cls(tokenizer)

    @classmethod
    def load(cls, path: str | Path) -> HFTokenizer:
        return cls(Tokenizer.from_file(str(path)))

    def save(self, path: str | Path) -> None:
        self.tokenizer.save(str(path), pretty=False)  # compact: half the size of the pretty form

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def pieces(self, ids: list[int]) -> list[str]:
        """A readable string per id (for attention heatmaps and debugging)."""
        return [self.tokenizer.decode([i], skip_special_tokens=False) or self.tokenizer.id_to_token(i)
                for i in ids]


def _metaspace() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")


class BPETokenizer(HFTokenizer):
    """Byte-level BPE (Sennrich et al. 2016 over bytes, as in GPT-2): lossless on any input."""

    @classmethod
    def _untrained(cls, vocab_size, min_frequency):
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIALS,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
        )
        return tok, trainer


class UnigramTokenizer(HFTokenizer):
    """Unigram language-model segmentation (Kudo 2018), SentencePiece-style ``▁`` for spaces."""

    @classmethod
    def _untrained(cls, vocab_size, min_frequency):
        tok = Tokenizer(models.Unigram())
        tok.pre_tokenizer = _metaspace()
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
        trainer = trainers.UnigramTrainer(
            vocab_size=vocab_size, special_tokens=SPECIALS, unk_token=UNK, show_progress=False
        )
        return tok, trainer


class WordPieceTokenizer(HFTokenizer):
    """WordPiece (Schuster & Nakajima 2012): words split on spaces and punctuation, ``##`` pieces."""

    @classmethod
    def _untrained(cls, vocab_size, min_frequency):
        tok = Tokenizer(models.WordPiece(unk_token=UNK))
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
        trainer = trainers.WordPieceTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIALS,
            show_progress=False,
        )
        return tok, trainer


def _word_level(pre_tokenizer, vocab_size: int, min_frequency: int):
    """A whole-token vocabulary over ``▁``-marked spaces: what the char and word tokenizers share."""
    tok = Tokenizer(models.WordLevel(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.Sequence([_metaspace(), pre_tokenizer])
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
    trainer = trainers.WordLevelTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIALS,
        show_progress=False,
    )
    return tok, trainer


class CharTokenizer(HFTokenizer):
    """One token per character (spaces kept as ``▁``): no segmentation decisions at all."""

    @classmethod
    def _untrained(cls, vocab_size, min_frequency):
        return _word_level(pre_tokenizers.Split(Regex("."), behavior="isolated"), vocab_size,
                           min_frequency)


class WordTokenizer(HFTokenizer):
    """Whole words and punctuation marks as tokens; rare words become ``<unk>``."""

    @classmethod
    def _untrained(cls, vocab_size, min_frequency):
        return _word_level(pre_tokenizers.Punctuation(), vocab_size, min_frequency)
