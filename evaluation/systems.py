"""The systems being scored: hypotheses read from a file, or produced by translating with a model.

Both kinds become one ``System`` so scoring, comparison and reports never care where the
hypotheses came from; a model's system also records what is needed to reproduce its output
(config, parameter count, decoding settings) and how fast it was.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections.abc import Sequence
from typing import Any

from nmt.errors import NmtError
from nmt.evaluation.io import read_lines
from nmt.evaluation.metrics import Score
from nmt.evaluation.testset import EvalSet

__all__ = ["Decoding", "System", "check_languages", "check_model_dir", "from_file", "from_model",
           "load_translator", "model_info", "speed_record"]

# Language names a config uses when it does not know the languages: nothing to check then.
_UNKNOWN_LANGS = {None, "", "src", "tgt"}


@dataclass(frozen=True)
class Decoding:
    """Decoding options from the command line; ``None`` keeps the model's own config value."""

    beam: int | None = None
    length_penalty: float | None = None
    batch_size: int | None = None
    quantize: str | None = None  # "int8": dynamic quantization, chosen when the model loads


@dataclass
class System:
    """One system's hypotheses for the test set, and what produced them."""

    name: str
    kind: str  # "hypotheses" (a file) or "model" (translated here)
    path: str
    hypotheses: list[str]
    hyp_file: str | None = None
    model: dict[str, Any] | None = None
    decoding: dict[str, Any] | None = None
    speed: dict[str, Any] | None = None
    scores: list[Score] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "path": self.path,
            "hyp_file": self.hyp_file,
            "metrics": [s.as_dict() for s in self.scores],
            "model": self.model,
            "decoding": self.decoding,
            "speed": self.speed,
        }


def check_model_dir(path: str | Path, flag: str = "--model") -> None:
    """Refuse a model path that cannot be one, before anything slow happens."""
    if not Path(path).is_dir():
        raise NmtError(
            f"{flag} {path}: no such model directory; give the folder a training run wrote"
        )


def from_file(path: str | Path, evalset: EvalSet) -> System:
    """A system whose hypotheses are in ``path``, checked against the whole test set."""
    lines = evalset.take(read_lines(path), str(path))
    return System(name=str(path), kind="hypotheses", path=str(path), hypotheses=lines,
                  hyp_file=str(path))


def from_model(
    path: str | Path, evalset: EvalSet, decoding: Decoding, *, progress: bool | None = None,
    translator: Any = None,
) -> System:
    """Translate the test set's source with the model in ``path``, timing the translation.

    ``translator``, when given, is that model already loaded (a suite with several test sets
    translates each with one loaded model)."""
    if evalset.sources is None:
        raise NmtError(
            f"{path} is a model directory, and translating needs source sentences: "
            "give --src FILE or use --suite NAME"
        )
    if translator is None:
        translator = load_translator(path, decoding.quantize)
    check_languages(translator, evalset, path)
    # The options given, else the model's config: resolved by the translator, the same way
    # `nmt translate` and the UI resolve theirs, and recorded whole for reproduction.
    options = translator.resolve(
        beam=decoding.beam, length_penalty=decoding.length_penalty, batch_size=decoding.batch_size
    )
    if progress is None:
        progress = sys.stderr.isatty()
    started = time.perf_counter()
    translations = translator.translate(evalset.sources, options=options, progress=progress)
    seconds = time.perf_counter() - started
    if len(translations) != len(evalset.sources):
        raise RuntimeError(
            f"translator returned {len(translations)} lines for {len(evalset.sources)}"
        )
    # Clean as read_lines would, so scores equal sacrebleu's on the saved hypothesis file.
    hypotheses = [line.rstrip() for line in translations]
    return System(
        name=str(path),
        kind="model",
        path=str(path),
        hypotheses=hypotheses,
        model=model_info(translator),
        decoding=asdict(options),
        speed=speed_record(evalset.sources, hypotheses, seconds, translator),
    )


def load_translator(path: str | Path, quantize: str | None = None,
                    members: Sequence[str | Path] = ()) -> Any:
    """The model in ``path`` (an ensemble with ``members``), loaded (its weights checked),
    after a check that each is a folder."""
    for each in (path, *members):
        check_model_dir(each)
    from nmt.translator import Translator

    return Translator.load([path, *members] if members else path, quantize=quantize)


def check_languages(translator: Any, evalset: EvalSet, path: str | Path) -> None:
    """An en->de model scored on an en->fr suite gives a meaningless number: refuse it."""
    for side, model_lang, data_lang in (
        ("source", translator.src_lang, evalset.src_lang),
        ("target", translator.tgt_lang, evalset.tgt_lang),
    ):
        if model_lang in _UNKNOWN_LANGS or data_lang in _UNKNOWN_LANGS:
            continue
        if model_lang != data_lang:
            raise NmtError(
                f"model {path} translates {translator.src_lang}->{translator.tgt_lang} but the "
                f"test set is {evalset.src_lang}->{evalset.tgt_lang} (the {side} languages "
                "differ); choose the suite for the model's language pair"
            )


def model_info(translator: Any) -> dict[str, Any]:
    """What a report records of the model that translated: enough to find and rebuild it."""
    return {
        "name": translator.name,
        "directory": str(translator.model_dir) if translator.model_dir else None,
        "src_lang": translator.src_lang,
        "tgt_lang": translator.tgt_lang,
        "n_params": translator.n_params,
        "config": translator.config.to_dict(),
        "meta": translator.meta,
    }


def speed_record(
    sources: list[str], hypotheses: list[str], seconds: float, translator: Any
) -> dict[str, Any]:
    """Throughput with what it depends on (device, threads), so numbers can be compared."""
    import torch

    per_second = (lambda n: n / seconds) if seconds > 0 else (lambda n: None)
    n_src_words = sum(len(line.split()) for line in sources)
    n_hyp_words = sum(len(line.split()) for line in hypotheses)
    return {
        "seconds": seconds,
        "sentences": len(sources),
        "sentences_per_second": per_second(len(sources)),
        "source_words_per_second": per_second(n_src_words),
        "target_words_per_second": per_second(n_hyp_words),
        "device": str(translator.device),
        "torch_threads": torch.get_num_threads(),
    }
