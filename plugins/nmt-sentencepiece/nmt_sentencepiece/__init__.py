"""nmt-sentencepiece: SentencePiece tokenizers (``tokenizer.type: sentencepiece``)."""

from nmt_sentencepiece.tokenizer import SentencePieceBPETokenizer, SentencePieceTokenizer

__all__ = ["SentencePieceBPETokenizer", "SentencePieceTokenizer"]
__version__ = "0.1.0"
