"""Translate with an exported directory, without torch: the API of :class:`nmt.Translator`.

    from nmt.runtime import Translator
    Translator.load("bible-en-fr-onnx").translate(["In the beginning was the Word."])

Needs only onnxruntime, numpy and tokenizers. Loading verifies every file against the
manifest's SHA-256. The tokenizers are nmt's own classes over Hugging Face ``tokenizers``
(:mod:`nmt.tokenizers` imports nothing else), so ids and text are exactly the torch path's. The
same methods as the torch translator (``translate``, ``translate_detailed``, ``search``,
``resolve``, ``options``) mean the CLI, the UI and live re-translation use either unchanged.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nmt.errors import NmtError
from nmt.runtime import manifest as manifest_mod
from nmt.runtime.model import ExportedModel
from nmt.runtime.options import DecodingOptions, parse_overrides
from nmt.runtime.search import SearchResult, beam_search
from nmt.runtime.shortlist import Shortlist
from nmt.tokenizers import HFTokenizer


class TruncatedInputWarning(UserWarning):
    """An input longer than the model's source cap was cut; the CLI prints it once per line."""


@dataclass
class Hypothesis:
    """One translation with its score and attention (rows: target pieces, columns: source
    pieces): the fields of :class:`nmt.translator.Hypothesis`."""

    text: str
    score: float
    src_pieces: list[str]
    tgt_pieces: list[str]
    attention: list[list[float]]


class Translator:
    """An exported model with its tokenizers, shortlist and resolved :class:`DecodingOptions`.
    Keeps no per-request state: one instance can serve many threads."""

    runtime = "onnx"

    def __init__(self, model: ExportedModel, src_tokenizer: HFTokenizer, tgt_tokenizer: HFTokenizer,
                 manifest: dict[str, Any], options: DecodingOptions, model_dir: Path,
                 shortlist: Shortlist | None = None) -> None:
        self.model = model
        self.src_tokenizer = src_tokenizer
        self.tgt_tokenizer = tgt_tokenizer
        self.manifest = manifest
        self._options = options
        self.model_dir = model_dir
        self.shortlist = shortlist
        info = manifest["model"]
        self.meta = info.get("meta", {})
        self.src_lang = info.get("src_lang", "src")
        self.tgt_lang = info.get("tgt_lang", "tgt")
        self.name = info.get("name") or model_dir.name
        self.n_params = info.get("n_params", 0)

    @property
    def options(self) -> DecodingOptions:
        """The settings every call starts from: the export's decoding defaults plus overrides."""
        return self._options

    @classmethod
    def load(cls, model_dir: str | Path, threads: int | None = None,
             overrides: Sequence[str] = (), verify: bool = True) -> Translator:
        """Load an exported directory (``nmt export MODEL --format onnx --out DIR``).

        ``threads``: onnxruntime's intra-op threads per graph (None: its default, one per
        core). ``overrides``: ``decoding.KEY=VALUE`` settings. ``verify`` hashes every file
        against the manifest first (a 50 MB export takes about 0.1 s).
        """
        model_dir = Path(model_dir)
        manifest = manifest_mod.read(model_dir, verify=verify)
        options = DecodingOptions.from_manifest(manifest["decoding"]).updated(
            **parse_overrides(list(overrides)))
        if options.quantize != manifest["decoding"].get("quantize", "none"):
            raise NmtError("an exported model's quantization is fixed at export; export it again "
                           "with `nmt export MODEL --format onnx --quantize int8`.")
        tokenizers = manifest["tokenizers"]
        try:
            src_tok = HFTokenizer.load(model_dir / tokenizers["source"])
            tgt_tok = HFTokenizer.load(model_dir / tokenizers["target"])
        except Exception as exc:
            raise NmtError(f"the tokenizer files in {model_dir} are corrupt: {exc}") from exc
        shortlist = None
        if manifest.get("shortlist"):
            try:
                shortlist = Shortlist.load(model_dir / manifest["shortlist"])
            except (OSError, ValueError) as exc:
                raise NmtError(f"{model_dir / manifest['shortlist']} is corrupt ({exc}); export "
                               "the model again.") from exc
        model = ExportedModel(model_dir, manifest, threads)
        return cls(model, src_tok, tgt_tok, manifest, options, model_dir, shortlist)

    def resolve(self, options: Any = None, **changes: Any) -> DecodingOptions:
        """The settings for one call: ``options`` (default :attr:`options`; either class) with
        ``changes`` (``None`` keeps a setting)."""
        resolved = DecodingOptions.of(options or self.options).updated(**changes)
        if resolved.quantize != self.options.quantize:
            raise NmtError(f"decoding.quantize is fixed when a model is exported (this one is "
                           f"{self.options.quantize!r}); export it again to change it.")
        return resolved

    def encode_source(self, text: str, options: DecodingOptions) -> list[int]:
        """A source text as the model reads it: its pieces, capped at
        ``decoding.max_source_length`` (with a TruncatedInputWarning); blank text reads as []."""
        text = text.strip()
        return self._truncate(self.src_tokenizer.encode(text), options, stacklevel=4) if text else []

    def _truncate(self, ids: list[int], options: DecodingOptions, stacklevel: int = 3) -> list[int]:
        # stacklevel 3 names the line that called the public method calling this one
        cap = options.max_source_length
        if len(ids) > cap:
            warnings.warn(f"an input of {len(ids)} pieces was truncated to {cap} "
                          "(decoding.max_source_length); split long texts into sentences.",
                          TruncatedInputWarning, stacklevel=stacklevel)
            return ids[:cap]
        return ids

    def search(self, ids: list[list[int]], options: Any, nbest: int = 1,
               keep_attention: bool = False,
               prefixes: list[list[int]] | None = None) -> list[list[SearchResult]]:
        """Token ids in, hypotheses out: one batched beam search over non-empty sources ``ids``
        (already truncated), each source's ``nbest`` best, best first."""
        options = DecodingOptions.of(options)
        lengths = np.array([len(x) for x in ids], dtype=np.int64)
        src = np.full((len(ids), int(lengths.max())), self.src_tokenizer.pad_id, dtype=np.int64)
        for i, x in enumerate(ids):
            src[i, : len(x)] = x
        vocab = allowed = None
        if self.shortlist is not None and options.shortlist:
            always = [[self.tgt_tokenizer.eos_id, *(prefixes[i] if prefixes else ())]
                      for i in range(len(ids))]
            vocab = self.shortlist.candidates(ids, [t for a in always for t in a])
            allowed = self.shortlist.allowed(ids, vocab, always)
        max_lengths = (lengths.astype(np.float32) * np.float32(options.max_length_ratio)
                       + options.max_length_offset).astype(np.int64)
        return beam_search(
            self.model, src, lengths, beam=max(options.beam, nbest), bos=self.tgt_tokenizer.bos_id,
            eos=self.tgt_tokenizer.eos_id, max_lengths=max_lengths, pad=self.tgt_tokenizer.pad_id,
            alpha=options.length_penalty, min_length=options.min_length,
            no_repeat_ngram=options.no_repeat_ngram, nbest=nbest, keep_attention=keep_attention,
            beta=options.coverage_penalty, vocab=vocab, allowed=allowed, prefixes=prefixes,
        )

    def translate(self, texts: list[str], beam: int | None = None,
                  length_penalty: float | None = None, batch_size: int | None = None,
                  progress: bool = False, options: Any = None) -> list[str]:
        """One output string per input string, in order; empty input gives empty output."""
        if isinstance(texts, str):
            raise NmtError("translate() takes a list of strings; wrap a single sentence in [ ].")
        opts = self.resolve(options, beam=beam, length_penalty=length_penalty, batch_size=batch_size)
        ids = []  # a loop, not a comprehension: a warning names the caller's line (see _truncate)
        for encoded in self.src_tokenizer.encode_batch([t.strip() for t in texts]):
            ids.append(self._truncate(encoded, opts))
        outputs = [""] * len(texts)
        todo = sorted((i for i, x in enumerate(ids) if x), key=lambda i: len(ids[i]))
        batches = [todo[s : s + opts.batch_size] for s in range(0, len(todo), opts.batch_size)]
        done = len(texts) - len(todo)
        for chunk in batches:
            for i, hyps in zip(chunk, self.search([ids[i] for i in chunk], opts)):
                outputs[i] = self.tgt_tokenizer.decode(hyps[0].tokens) if hyps else ""
            done += len(chunk)
            if progress:
                print(f"\rtranslating: {done}/{len(texts)}", end="", flush=True, file=sys.stderr)
        if progress:
            print(file=sys.stderr)
        return outputs

    def translate_detailed(self, text: str, beam: int | None = None,
                           length_penalty: float | None = None, nbest: int = 1,
                           options: Any = None) -> list[Hypothesis]:
        """The ``nbest`` best translations of one text, with scores and attention matrices."""
        opts = self.resolve(options, beam=beam, length_penalty=length_penalty)
        ids = self.encode_source(text, opts)
        if not ids:
            return []
        src_pieces = self.src_tokenizer.pieces(ids)
        hyps = []
        for r in self.search([ids], opts, nbest=nbest, keep_attention=True)[0]:
            hyps.append(Hypothesis(
                text=self.tgt_tokenizer.decode(r.tokens), score=r.score, src_pieces=src_pieces,
                tgt_pieces=self.tgt_tokenizer.pieces(r.tokens) + ["</s>"],
                attention=r.attention[:, : len(ids)].tolist(),
            ))
        return hyps
