"""What a translator does with text, whatever runs its model: the part of the public API that
the torch translator (:mod:`nmt.translator`) and the torch-free one (:mod:`nmt.runtime`) share.

A subclass supplies two methods, :meth:`TextTranslator.resolve` (one call's decoding settings)
and :meth:`TextTranslator.search` (token ids in, hypotheses out); everything between text and
ids (tokenizing, the source cap and its warning, sorting by length into batches, progress,
detokenizing, attention for display) lives here once, so both paths give the same text for the
same ids and warn with the same class. Imports no torch and no numpy.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from nmt.errors import NmtError


class TruncatedInputWarning(UserWarning):
    """An input longer than the model's source cap was cut; the CLI prints it once per line."""


@dataclass
class Hypothesis:
    """One translation with its score and attention (rows: target pieces, columns: source pieces)."""

    text: str
    score: float
    src_pieces: list[str]
    tgt_pieces: list[str]
    attention: list[list[float]]


class TextTranslator:
    """Text in, text out, over a subclass's ``search``. Keeps no per-request state, so one
    instance can serve many threads at once.

    Subclasses set ``src_tokenizer`` and ``tgt_tokenizer`` (:class:`nmt.tokenizers.Tokenizer`)
    and implement :meth:`resolve` and :meth:`search`.
    """

    src_tokenizer: Any
    tgt_tokenizer: Any

    def resolve(self, options: Any = None, **changes: Any) -> Any:
        """The decoding settings for one call: ``options`` (default: the translator's own) with
        ``changes`` (``None`` keeps a setting)."""
        raise NotImplementedError

    def search(self, ids: list[list[int]], options: Any, nbest: int = 1,
               keep_attention: bool = False, prefixes: list[list[int]] | None = None) -> list[list[Any]]:
        """Token ids in, hypotheses out: one batched beam search over non-empty sources ``ids``
        (already truncated), each source's ``nbest`` best, best first. Every decoding path
        (the text methods below, live translation, the server's batcher) ends here."""
        raise NotImplementedError

    def encode_source(self, text: str, options: Any) -> list[int]:
        """A source text as the model reads it: its pieces, capped at
        ``decoding.max_source_length`` (with a TruncatedInputWarning); blank text reads as []."""
        text = text.strip()
        return self._truncate(self.src_tokenizer.encode(text), options, stacklevel=4) if text else []

    def _truncate(self, ids: list[int], options: Any, stacklevel: int = 3) -> list[int]:
        """Cap a source at ``decoding.max_source_length`` pieces, with a warning that says so:
        the model never saw longer sentences, and search time grows with the length.
        ``stacklevel`` 3 names the line that called the public method calling this one."""
        cap = options.max_source_length
        if len(ids) > cap:
            warnings.warn(f"an input of {len(ids)} pieces was truncated to {cap} "
                          "(decoding.max_source_length); split long texts into sentences.",
                          TruncatedInputWarning, stacklevel=stacklevel)
            return ids[:cap]
        return ids

    def translate(self, texts: list[str], beam: int | None = None,
                  length_penalty: float | None = None, batch_size: int | None = None,
                  progress: bool = False, options: Any = None) -> list[str]:
        """One output string per input string, in order; empty input gives empty output.
        ``beam``, ``length_penalty`` and ``batch_size`` change those settings for this call.
        Sources are sorted by length into batches, so a batch pads little."""
        if isinstance(texts, str):
            raise NmtError("translate() takes a list of strings; wrap a single sentence in [ ].")
        opts = self.resolve(options, beam=beam, length_penalty=length_penalty, batch_size=batch_size)
        ids = []  # a loop, not a comprehension: a warning names the caller's line (see _truncate)
        for encoded in self.src_tokenizer.encode_batch([t.strip() for t in texts]):
            ids.append(self._truncate(encoded, opts))
        outputs = [""] * len(texts)
        todo = sorted((i for i, x in enumerate(ids) if x), key=lambda i: len(ids[i]))
        batches = [todo[s : s + opts.batch_size] for s in range(0, len(todo), opts.batch_size)]
        with _progress(len(texts), progress) as advance:
            advance(len(texts) - len(todo))
            for chunk in batches:
                for i, hyps in zip(chunk, self.search([ids[i] for i in chunk], opts)):
                    outputs[i] = self.tgt_tokenizer.decode(hyps[0].tokens) if hyps else ""
                advance(len(chunk))
        return outputs

    def translate_detailed(self, text: str, beam: int | None = None,
                           length_penalty: float | None = None, nbest: int = 1,
                           options: Any = None) -> list[Hypothesis]:
        """The ``nbest`` best translations of one text (the beam widens to at least ``nbest``),
        with scores and attention matrices."""
        opts = self.resolve(options, beam=beam, length_penalty=length_penalty)
        ids = self.encode_source(text, opts)
        if not ids:
            return []
        src_pieces = self.src_tokenizer.pieces(ids)
        return [
            Hypothesis(text=self.tgt_tokenizer.decode(r.tokens), score=float(r.score),
                       src_pieces=src_pieces,
                       tgt_pieces=self.tgt_tokenizer.pieces(r.tokens) + ["</s>"],
                       attention=r.attention[:, : len(ids)].tolist())
            for r in self.search([ids], opts, nbest=nbest, keep_attention=True)[0]
        ]


@contextmanager
def _progress(total: int, show: bool) -> Iterator[Any]:
    """A function that advances a progress bar on stderr by n sentences: tqdm's where it is
    installed (it always is with torch; the torch-free runtime may lack it), else a counter."""
    if not show:
        yield lambda n: None
        return
    try:
        from tqdm import tqdm
    except ImportError:
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            print(f"\rtranslating: {done}/{total}", end="", flush=True, file=sys.stderr)

        yield advance
        print(file=sys.stderr)
        return
    with tqdm(total=total, unit="sent", desc="translating", dynamic_ncols=True) as bar:
        yield bar.update
