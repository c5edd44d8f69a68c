"""Corpus-level scores computed by sacrebleu's own metric classes with their defaults.

Using the library's classes unconfigured is what makes a number reported by nmt equal to the
one ``sacrebleu REF -i HYP -m bleu chrf`` prints, and the signature records every setting,
so scores stay comparable with published ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from nmt.errors import NmtError

__all__ = ["METRICS", "Score", "check_lengths", "score"]

# Metric name -> sacrebleu.metrics class name. Imported lazily: sacrebleu costs a quarter of a
# second, which `nmt --help` should not pay.
_CLASSES = {"bleu": "BLEU", "chrf": "CHRF", "ter": "TER"}
METRICS: tuple[str, ...] = tuple(_CLASSES)

# Decimals in `Score.text`: sacrebleu's Python API default (its CLI defaults to 1, `-w 1`).
WIDTH = 2


@dataclass(frozen=True)
class Score:
    """One corpus score with everything needed to report it reproducibly.

    ``score`` is unrounded; ``text`` is sacrebleu's formatted line (``BLEU = 12.34 45.6/...``)
    and ``signature`` its settings string (``nrefs:1|case:mixed|...|version:2.6.0``).
    """

    name: str
    score: float
    signature: str
    text: str


def check_lengths(
    n_hypotheses: int,
    reference_lengths: Sequence[int],
    *,
    hyp_name: str | None = None,
    ref_names: Sequence[str] | None = None,
) -> None:
    """Refuse streams that are not line-aligned, naming the files when they are known.

    Exposed separately so a caller can check source and references before spending time on
    translation. sacrebleu itself only says "different lengths" and exits.
    """
    if n_hypotheses == 0:
        where = f" ({hyp_name} is empty)" if hyp_name else ""
        raise NmtError(f"there are no hypotheses to score{where}; give at least one line")
    if not reference_lengths:
        raise NmtError("no reference given; give at least one reference stream (--ref FILE)")
    hyp_label = hyp_name if hyp_name else "the hypotheses"
    for index, n_refs in enumerate(reference_lengths):
        if n_refs == n_hypotheses:
            continue
        if ref_names is not None:
            ref_label = f"reference {ref_names[index]}"
        else:
            ref_label = f"reference stream {index + 1}"
        raise NmtError(
            f"{hyp_label} has {_lines(n_hypotheses)} but {ref_label} has {_lines(n_refs)}; "
            "hypotheses and references must be line-aligned (one sentence per line)"
        )


def score(
    hypotheses: list[str],
    references: list[list[str]],
    metrics: Sequence[str] = ("bleu", "chrf"),
    *,
    hyp_name: str | None = None,
    ref_names: Sequence[str] | None = None,
) -> list[Score]:
    """Score ``hypotheses`` against reference streams, one ``Score`` per metric, in order.

    ``references`` holds whole streams (each aligned with ``hypotheses``), the layout sacrebleu
    uses, so several references per sentence cost nothing extra. ``hyp_name`` and
    ``ref_names`` (file names) only make error messages point at the right file.
    """
    check_lengths(
        len(hypotheses),
        [len(stream) for stream in references],
        hyp_name=hyp_name,
        ref_names=ref_names,
    )
    # Build every metric first so a misspelt name fails before any (slow) scoring.
    scorers = [_metric(name) for name in _unique(metrics)]
    results = []
    for metric in scorers:
        result = metric.corpus_score(hypotheses, references)
        signature = metric.get_signature().format()
        results.append(
            Score(
                name=result.name,
                score=float(result.score),
                signature=signature,
                text=result.format(width=WIDTH),
            )
        )
    return results


def _metric(name: str) -> Any:
    key = name.lower()
    if key not in _CLASSES:
        raise NmtError(f"unknown metric {name!r}; choose from {', '.join(METRICS)}")
    import sacrebleu.metrics

    return getattr(sacrebleu.metrics, _CLASSES[key])()


def _unique(names: Sequence[str]) -> list[str]:
    """Drop repeats (``bleu BLEU``), which would only print the same line twice."""
    if isinstance(names, str):
        names = [names]  # a lone "bleu" would otherwise be read as metrics b, l, e, u
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.lower(), name)
    if not seen:
        raise NmtError(f"no metric requested; choose from {', '.join(METRICS)}")
    return list(seen.values())


def _lines(count: int) -> str:
    return f"{count} line" if count == 1 else f"{count} lines"
