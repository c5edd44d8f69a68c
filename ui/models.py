"""The models a running app offers, loaded once and shared by every request.

A request names a model by a key the server made up, never by a path: whatever a
client sends, it can only reach a model that was offered at start-up. The catalog is
built before the server starts and never changes afterwards, so threads can share it
without a lock.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nmt.errors import NmtError
from nmt.ui import limits

if TYPE_CHECKING:
    from nmt.translator import Translator

# Score names in nmt.json ("dev_bleu") shown the way papers write them.
_METRIC_NAMES = {"bleu": "BLEU", "chrf": "chrF", "ppl": "perplexity", "loss": "loss", "ter": "TER"}
MAX_EXAMPLES = 8
# The one score worth putting in the dropdown, best first.
_HEADLINE_SCORES = ("test_bleu", "dev_bleu")


def _score_name(key: str) -> str:
    split, _, metric = key.rpartition("_")
    name = _METRIC_NAMES.get(metric.lower(), metric)
    return f"{split.replace('_', ' ')} {name}".strip()


def score_summary(scores: dict[str, object], only_headline: bool = False) -> str:
    """'dev BLEU 23.40 · dev perplexity 12.1'; non-numeric entries are skipped."""
    numeric = {k: v for k, v in scores.items() if isinstance(v, (int, float))}
    if only_headline:
        numeric = {k: numeric[k] for k in _HEADLINE_SCORES if k in numeric}
        numeric = dict(list(numeric.items())[:1])
    return " \u00b7 ".join(f"{_score_name(k)} {float(v):.2f}" for k, v in numeric.items())


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "model"


@dataclass(frozen=True)
class ModelEntry:
    """One offered model: the key clients use for it and the loaded translator."""

    key: str
    translator: Translator

    @property
    def pair(self) -> str:
        return f"{self.translator.src_lang} \u2192 {self.translator.tgt_lang}"

    @property
    def label(self) -> str:
        """What the dropdown shows: name, language pair and the headline score."""
        t = self.translator
        parts = [t.name, self.pair]
        headline = score_summary(t.meta.get("scores") or {}, only_headline=True)
        if headline:
            parts.append(headline)
        return " \u00b7 ".join(parts)

    @property
    def examples(self) -> list[str]:
        """Sentences to click and try: the few held-out sources the model's training recorded
        (``examples`` in nmt.json), none for a model trained before nmt recorded them."""
        found = (getattr(self.translator, "meta", None) or {}).get("examples") or []
        return [e for e in found if isinstance(e, str) and e.strip()][:MAX_EXAMPLES]

    @property
    def search_defaults(self) -> tuple[int, float]:
        """The beam and length penalty the model was configured with, within the UI's ranges."""
        d = self.translator.options
        beam = min(max(int(d.beam), limits.MIN_BEAM), limits.MAX_BEAM)
        penalty = min(
            max(float(d.length_penalty), limits.MIN_LENGTH_PENALTY), limits.MAX_LENGTH_PENALTY
        )
        return beam, penalty

    def describe(self) -> str:
        """Markdown card for the model; metadata comes from files, so it is escaped."""
        t = self.translator
        lines = [
            f"### {html.escape(t.name)}",
            f"**{html.escape(self.pair)}** \u00b7 {t.n_params:,} parameters \u00b7 "
            "recurrent encoder-decoder with attention",
        ]
        scores = score_summary(t.meta.get("scores") or {})
        if scores:
            lines.append(f"Scores: {html.escape(scores)}")
        return "\n\n".join(lines)


class ModelCatalog:
    """The fixed, ordered set of models one app serves; the first is the default."""

    def __init__(self, translators: Iterable[Translator]) -> None:
        self._entries: dict[str, ModelEntry] = {}
        for translator in translators:
            key = base = _slug(translator.name)
            n = 2
            while key in self._entries:
                key, n = f"{base}-{n}", n + 1
            self._entries[key] = ModelEntry(key, translator)
        if not self._entries:
            raise NmtError("no model to serve.")

    @property
    def entries(self) -> list[ModelEntry]:
        return list(self._entries.values())

    @property
    def default_key(self) -> str:
        return next(iter(self._entries))

    def choices(self) -> list[tuple[str, str]]:
        """(label, key) pairs for a dropdown."""
        return [(e.label, e.key) for e in self._entries.values()]

    def entry(self, key: object) -> ModelEntry:
        """The entry for `key`; anything not offered (a path, a typo) is refused by name."""
        if isinstance(key, str) and key in self._entries:
            return self._entries[key]
        offered = ", ".join(self._entries)
        raise NmtError(f"Unknown model {str(key)[:80]!r}. This server offers: {offered}.")

    def get(self, key: object) -> Translator:
        return self.entry(key).translator


def _warn(message: str) -> None:
    print(f"nmt ui: warning: {message}", file=sys.stderr, flush=True)


def _model_dirs_in(models_dir: Path) -> list[Path]:
    if not models_dir.is_dir():
        raise NmtError(f"--models-dir {models_dir} is not a directory.")
    found = sorted(p for p in models_dir.iterdir()
                   if (p / "nmt.json").is_file() or (p / "manifest.json").is_file())
    if not found:
        raise NmtError(
            f"no model directories in {models_dir} (a model directory contains nmt.json, an "
            "exported one manifest.json)."
        )
    return found


def load_catalog(
    model_dirs: Sequence[Path] = (),
    models_dir: Path | None = None,
    bundled: bool = True,
    warn: Callable[[str], None] = _warn,
) -> ModelCatalog:
    """Load every model to offer, each directory once: the ones named first, so that
    `nmt ui --model mine` opens on `mine`, then those in `models_dir`, then the bundled one.

    A directory named with --model must load, or start-up fails with its error; inside
    --models-dir a broken or half-trained model is skipped with a warning, since one bad
    entry should not take down the others. A missing bundled model is only an error when
    no other model loaded.
    """
    from nmt.runtime.manifest import is_exported
    from nmt.translator import Translator

    def load(path: Path | None):
        """An exported directory runs on the torch-free runtime (onnxruntime)."""
        if is_exported(path):
            from nmt.runtime.translator import Translator as ExportedTranslator

            return ExportedTranslator.load(path)
        return Translator.load(path)

    translators: list[Translator] = []
    seen: set[Path] = set()

    def add(translator: Translator) -> None:
        where = translator.model_dir.resolve() if translator.model_dir else None
        if where is not None and where in seen:
            return
        if where is not None:
            seen.add(where)
        translators.append(translator)

    for path in model_dirs:
        add(load(path))
    if models_dir is not None:
        for path in _model_dirs_in(models_dir):
            try:
                add(load(path))
            except NmtError as exc:
                warn(f"skipping {path}: {exc}")
    if bundled:
        try:
            add(Translator.load(None))
        except NmtError as exc:
            if not translators:
                raise
            warn(f"not offering the bundled model: {exc}")
    if not translators:
        raise NmtError("none of the given models could be loaded; see the warnings above.")
    return ModelCatalog(translators)
