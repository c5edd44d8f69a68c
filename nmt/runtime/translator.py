"""Translate with an exported directory, without torch: the API of :class:`nmt.Translator`.

    from nmt.runtime import Translator
    Translator.load("bible-en-fr-onnx").translate(["In the beginning was the Word."])

Needs only onnxruntime, numpy and tokenizers. Loading verifies every file against the
manifest's SHA-256. The tokenizers are nmt's own classes over Hugging Face ``tokenizers``
(:mod:`nmt.tokenizers` imports nothing else), so ids and text are exactly the torch path's. The
text methods (``translate``, ``translate_detailed``) are the torch translator's own, from
:class:`nmt.translating.TextTranslator`; only ``search`` and ``resolve`` differ, so the CLI, the
UI and live re-translation use either unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from nmt.translating import Hypothesis, TextTranslator, TruncatedInputWarning

__all__ = ["Hypothesis", "Translator", "TruncatedInputWarning"]


class Translator(TextTranslator):
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
