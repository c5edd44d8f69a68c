"""Load a model directory and translate text: the public Python API.

    from nmt import Translator
    Translator.load("runs/en-fr").translate(["In the beginning was the Word."])

A Translator keeps no per-request state, so one instance can serve many threads at once. Its
decoding settings are one :class:`~nmt.config.DecodingOptions` value, resolved once in
:meth:`Translator.load` from the model's config plus overrides; each call may derive its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from nmt import checkpoint
from nmt.config import Config, DecodingOptions, from_dict
from nmt.data.batching import pad_sequences
from nmt.errors import NmtError
from nmt.model import Seq2Seq, count_parameters
from nmt.search import SearchResult, beam_search
from nmt.shortlist import Shortlist
from nmt.translating import Hypothesis, TextTranslator, TruncatedInputWarning

__all__ = ["BUNDLED_MODEL", "Hypothesis", "Translator", "TruncatedInputWarning"]

BUNDLED_MODEL = Path(__file__).parent / "models" / "bible-en-fr"


class Translator(TextTranslator):
    """A model with its tokenizers and its resolved :class:`DecodingOptions` (``options``)."""

    def __init__(
        self, model: Seq2Seq, src_tokenizer, tgt_tokenizer, config: Config,
        model_dir: Path | None = None, meta: dict | None = None, shortlist: Shortlist | None = None,
    ) -> None:
        self.model = model.eval()
        self.src_tokenizer = src_tokenizer
        self.tgt_tokenizer = tgt_tokenizer
        self.config = config
        self.model_dir = model_dir
        self.meta = meta or {}
        self.shortlist = shortlist
        self.src_lang = self.meta.get("src_lang", config.data.src_lang)
        self.tgt_lang = self.meta.get("tgt_lang", config.data.tgt_lang)
        self.name = self.meta.get("name") or (model_dir.name if model_dir else "model")
        self.n_params = self.meta.get("n_params") or count_parameters(model)

    @property
    def options(self) -> DecodingOptions:
        """The decoding settings every call starts from: the model's config plus the overrides
        given to :meth:`load`."""
        return self.config.decoding

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @classmethod
    def load(cls, model_dir: str | Path | Sequence[str | Path] | None = None, device: str = "cpu",
             quantize: str | None = None, overrides: Sequence[str] = ()) -> Translator:
        """Load a model directory; ``None`` loads the small English->French model shipped with nmt.

        ``overrides`` change the model's decoding settings, in ``--set`` syntax
        (``"decoding.beam=3"``); they are applied before anything else, so every setting,
        ``decoding.quantize`` included, takes effect. ``quantize="int8"`` is a shortcut for
        ``decoding.quantize=int8`` (CPU only): a little accuracy for faster decoding.

        A list of several directories loads an ensemble (:mod:`nmt.ensemble`): the models must
        share their vocabularies; decoding settings come from the first, overrides apply to all,
        and the shortlist is the union of theirs.
        """
        if isinstance(model_dir, (list, tuple)):
            if not model_dir:
                raise NmtError("no model directory given; name one, or several for an ensemble.")
            if len(model_dir) > 1:
                members = [cls.load(d, device, quantize, overrides) for d in model_dir]
                return cls._ensemble(members)
            model_dir = model_dir[0]
        if model_dir is None:
            if not (BUNDLED_MODEL / checkpoint.WEIGHTS).is_file():
                raise NmtError(f"the bundled model is missing from {BUNDLED_MODEL}; reinstall nmt.")
            model_dir = BUNDLED_MODEL
        overrides = list(overrides)
        for item in overrides:
            if not item.startswith("decoding."):
                raise NmtError(f"--set {item!r}: only decoding.* settings can change at "
                               "translation time (the model's other settings are fixed by its training).")
        if quantize is not None:
            overrides.append(f"decoding.quantize={quantize}")
        loaded = checkpoint.load(model_dir, device)
        cfg = from_dict(loaded.config.to_dict(), overrides) if overrides else loaded.config
        model = loaded.model
        if cfg.decoding.quantize == "int8":
            if torch.device(device).type != "cpu":
                raise NmtError("int8 quantization runs on the CPU only; drop --quantize or use --device cpu.")
            from nmt.quantize import quantize_int8

            model = quantize_int8(model)
        return cls(model, loaded.src_tokenizer, loaded.tgt_tokenizer, cfg,
                   Path(model_dir), loaded.meta, loaded.shortlist)

    @classmethod
    def _ensemble(cls, members: list[Translator]) -> Translator:
        from nmt.ensemble import Ensemble

        first = members[0]
        for other in members[1:]:
            for side in ("src", "tgt"):
                ours, theirs = getattr(first, f"{side}_tokenizer"), getattr(other, f"{side}_tokenizer")
                if not _same_vocabulary(ours, theirs):
                    raise NmtError(
                        f"models {first.name!r} ({first.model_dir}) and {other.name!r} "
                        f"({other.model_dir}) have different {'source' if side == 'src' else 'target'} "
                        "vocabularies; an ensemble needs models trained with the same tokenizers "
                        "(e.g. checkpoints or seeds of one recipe).")
        lists = [m.shortlist for m in members]
        shortlist = Shortlist.union(lists) if all(lists) else None
        names = [m.name for m in members]
        if len(set(names)) < len(names):  # checkpoints of one run share its name
            names = [Path(m.model_dir).name if m.model_dir else m.name for m in members]
        meta = {**first.meta, "name": "+".join(names),
                "n_params": sum(m.n_params for m in members),
                "ensemble": [str(m.model_dir) for m in members]}
        meta.pop("scores", None)
        return cls(Ensemble([m.model for m in members]), first.src_tokenizer, first.tgt_tokenizer,
                   first.config, first.model_dir, meta, shortlist)

    def resolve(self, options: DecodingOptions | None = None, **changes) -> DecodingOptions:
        """The settings for one call: ``options`` (default :attr:`options`) with ``changes``
        (``None`` keeps a setting). Quantization belongs to the loaded weights, so a call
        cannot change it."""
        resolved = (options or self.options).updated(**changes)
        if resolved.quantize != self.options.quantize:
            raise NmtError(f"decoding.quantize is chosen when the model is loaded (this one is "
                           f"{self.options.quantize!r}); pass it to Translator.load instead.")
        return resolved

    def search(self, ids: list[list[int]], options: DecodingOptions, nbest: int = 1,
               keep_attention: bool = False,
               prefixes: list[list[int]] | None = None) -> list[list[SearchResult]]:
        """Token ids in, hypotheses out: one batched beam search over non-empty sources
        ``ids`` (already truncated), each source's ``nbest`` best, best first: the one method
        :class:`~nmt.translating.TextTranslator`'s text methods and live translation call."""
        lengths = torch.tensor([len(x) for x in ids])
        src = pad_sequences(ids, self.src_tokenizer.pad_id).to(self.device)
        vocab = allowed = None
        if self.shortlist is not None and options.shortlist:
            always = [[self.tgt_tokenizer.eos_id, *(prefixes[i] if prefixes else ())]
                      for i in range(len(ids))]
            vocab = self.shortlist.candidates(ids, [t for a in always for t in a])
            allowed = self.shortlist.allowed(ids, vocab, always)
        max_lengths = (lengths.float() * options.max_length_ratio + options.max_length_offset).long()
        return beam_search(
            self.model, src, lengths, beam=max(options.beam, nbest), bos=self.tgt_tokenizer.bos_id,
            eos=self.tgt_tokenizer.eos_id, max_lengths=max_lengths, alpha=options.length_penalty,
            min_length=options.min_length, no_repeat_ngram=options.no_repeat_ngram, nbest=nbest,
            keep_attention=keep_attention, beta=options.coverage_penalty, vocab=vocab,
            allowed=allowed, prefixes=prefixes,
        )


def _same_vocabulary(a, b) -> bool:
    """The same tokenizer kind with the same pieces at the same ids (whatever its files say)."""
    return (type(a) is type(b) and a.vocab_size == b.vocab_size
            and a.pieces(list(range(a.vocab_size))) == b.pieces(list(range(b.vocab_size))))
