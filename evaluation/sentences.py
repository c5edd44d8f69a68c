"""Per-sentence scores: where a system does worst, and files to study it sentence by sentence.

A corpus score hides which sentences fail. The scores here are sacrebleu's sentence-level
ones (``sacrebleu --sentence-level``: BLEU with effective order), so any line can be
re-checked with that command; they are for reading and sorting, not for reporting a system.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from nmt.errors import NmtError
from nmt.evaluation.io import write_lines
from nmt.evaluation.metrics import Scorer, lower_is_better
from nmt.evaluation.testset import EvalSet

__all__ = ["SentenceScores", "compute", "format_worst", "worst", "write_jsonl", "write_tsv"]

# Kept raw by json.dumps(ensure_ascii=False), yet line breaks to str.splitlines.
_UNICODE_BREAKS = ("\x85", "\u2028", "\u2029")


@dataclass(frozen=True)
class SentenceScores:
    """Scores by sacrebleu metric name (in the order requested), one per sentence."""

    values: dict[str, list[float]]
    signatures: dict[str, str]

    @property
    def names(self) -> list[str]:
        return list(self.values)


def compute(hypotheses: list[str], scorers: Sequence[Scorer]) -> SentenceScores:
    """Every scorer's sentence scores (from the statistics its corpus score already has)."""
    values: dict[str, list[float]] = {}
    signatures: dict[str, str] = {}
    for scorer in scorers:
        name, scores, signature = scorer.sentences(hypotheses)
        values[name], signatures[name] = scores, signature
    return SentenceScores(values=values, signatures=signatures)


def worst(
    scores: SentenceScores,
    evalset: EvalSet,
    hypotheses: list[str],
    n: int,
    by: str | None = None,
) -> list[dict[str, Any]]:
    """The ``n`` sentences with the worst ``by`` score (default: the first metric), worst first.

    Ties keep file order, so the list is the same on every run.
    """
    if n < 1:
        raise NmtError(f"--worst must be at least 1, got {n}")
    by = by or scores.names[0]
    column = scores.values[by]
    sign = -1.0 if lower_is_better(by) else 1.0
    order = sorted(range(len(column)), key=lambda i: (sign * column[i], i))
    return [_entry(i, scores, evalset, hypotheses) for i in order[:n]]


def format_worst(entries: list[dict[str, Any]], by: str, width: int = 2) -> str:
    """The worst sentences for the terminal: scores, then source, references and hypothesis."""
    lines = [f"The {len(entries)} sentences with the worst sentence-level {by}:"]
    for entry in entries:
        scores = "  ".join(f"{name} {value:.{width}f}" for name, value in entry["scores"].items())
        lines.append("")
        lines.append(f"line {entry['line']}: {scores}")
        if entry["source"] is not None:
            lines.append(f"  SRC: {entry['source']}")
        for number, reference in enumerate(entry["references"], 1):
            label = "REF" if len(entry["references"]) == 1 else f"REF{number}"
            lines.append(f"  {label}: {reference}")
        lines.append(f"  HYP: {entry['hypothesis']}")
    return "\n".join(lines)


def write_tsv(path: Path, scores: SentenceScores, *, force: bool = False) -> None:
    """``line<TAB>BLEU<TAB>chrF2...``: numbers only, for a spreadsheet or ``sort -k``."""
    header = "\t".join(["line", *scores.names])
    rows = [
        "\t".join([str(i + 1), *(f"{scores.values[name][i]:.4f}" for name in scores.names)])
        for i in range(len(next(iter(scores.values.values()))))
    ]
    write_lines(path, [header, *rows], force=force)


def write_jsonl(
    path: Path,
    scores: SentenceScores,
    evalset: EvalSet,
    hypotheses: list[str],
    *,
    force: bool = False,
) -> None:
    """One JSON object per sentence with its texts and unrounded scores."""
    rows = [_json_line(_entry(i, scores, evalset, hypotheses)) for i in range(len(hypotheses))]
    write_lines(path, rows, force=force)


def _json_line(data: dict[str, Any]) -> str:
    """JSON on one line even for readers that split on Unicode line breaks (splitlines)."""
    text = json.dumps(data, ensure_ascii=False)
    for char in _UNICODE_BREAKS:
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def _entry(
    index: int, scores: SentenceScores, evalset: EvalSet, hypotheses: list[str]
) -> dict[str, Any]:
    return {
        "line": index + 1,
        "scores": {name: values[index] for name, values in scores.values.items()},
        "source": None if evalset.sources is None else evalset.sources[index],
        "references": [stream[index] for stream in evalset.references],
        "hypothesis": hypotheses[index],
    }
