"""Rank systems and test which differences from the baseline are significant.

The tests are sacrebleu's own (``sacrebleu.significance.PairedTest``): paired bootstrap
resampling (``bs``) or approximate randomization (``ar``), each system against the first
(the baseline), seeded by ``SACREBLEU_SEED`` (default 12345) exactly as
``sacrebleu REF -i BASE SYS... --paired-bs`` is, so the p-values are the ones that command
prints. nmt adds a ranking by the first metric and the same table in Markdown and JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from nmt.errors import NmtError
from nmt.evaluation.metrics import Scorer, lower_is_better
from nmt.evaluation.systems import System

__all__ = ["SIGNIFICANCE_LEVEL", "TESTS", "Comparison", "compare", "format_cell", "format_table"]

TESTS = {"bs": "paired bootstrap resampling", "ar": "paired approximate randomization"}
DEFAULT_SAMPLES = {"bs": 1000, "ar": 10000}
# sacrebleu marks a p-value with "*" unless it is above 0.05 (utils._format_score_lines).
SIGNIFICANCE_LEVEL = 0.05


@dataclass(frozen=True)
class Result:
    """One system's result on one metric; ``p_value`` is None for the baseline."""

    score: float
    p_value: float | None = None
    mean: float | None = None
    ci: float | None = None

    @property
    def significant(self) -> bool | None:
        return None if self.p_value is None else self.p_value <= SIGNIFICANCE_LEVEL

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "p_value": self.p_value,
            "mean": self.mean,
            "ci": self.ci,
            "significant": self.significant,
        }


@dataclass(frozen=True)
class Row:
    system: str
    is_baseline: bool
    results: dict[str, Result]  # by sacrebleu metric name (BLEU, chrF2, ...)


@dataclass(frozen=True)
class Comparison:
    test: str
    n_samples: int
    seed: str
    metric_names: list[str]
    rank_by: str
    signatures: dict[str, str]
    rows: list[Row]  # in the order the systems were given; the baseline first

    def ranked(self) -> list[Row]:
        """Best first by ``rank_by`` (lowest first for TER); ties keep the given order."""
        lower = lower_is_better(self.rank_by)
        return sorted(
            self.rows,
            key=lambda row: row.results[self.rank_by].score * (1 if lower else -1),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "test_name": TESTS[self.test],
            "n_samples": self.n_samples,
            "seed": self.seed,
            "significance_level": SIGNIFICANCE_LEVEL,
            "baseline": self.rows[0].system,
            "rank_by": self.rank_by,
            "signatures": self.signatures,
            "ranking": [
                {
                    "rank": rank,
                    "system": row.system,
                    "baseline": row.is_baseline,
                    "results": {name: r.as_dict() for name, r in row.results.items()},
                }
                for rank, row in enumerate(self.ranked(), 1)
            ],
        }


def compare(
    systems: Sequence[System],
    scorers: Sequence[Scorer],
    *,
    test: str = "bs",
    n_samples: int | None = None,
) -> Comparison:
    """Test every system against ``systems[0]`` with sacrebleu's paired test.

    The scorers' metrics hold the references (as in sacrebleu's command line) and the
    statistics already extracted for the corpus scores, which the test reuses.
    """
    if test not in TESTS:
        raise NmtError(f"unknown paired test {test!r}; choose from {', '.join(TESTS)}")
    if len(systems) < 2:
        raise NmtError("a comparison needs at least two systems (give --compare SYSTEM)")
    names = [s.name for s in systems]
    for index, name in enumerate(names):
        if name in names[:index]:
            raise NmtError(f"system {name} is given twice; compare different systems")
    n = DEFAULT_SAMPLES[test] if n_samples is None else n_samples
    if n < 1:
        raise NmtError(f"the number of paired-test samples must be at least 1, got {n}")

    from sacrebleu.significance import PairedTest

    metrics = {scorer.key: scorer.metric for scorer in scorers}
    paired = PairedTest(
        [(s.name, s.hypotheses) for s in systems],
        metrics,
        references=None,
        test_type=test,
        n_samples=n,
    )
    signatures, table = paired()
    metric_names = [name for name in table if name != "System"]
    if len(metric_names) != len(metrics):
        raise NmtError(
            "two requested metrics are the same (chrf with --chrf-word-order 2 is chrf++); "
            "request each metric once"
        )
    rows = []
    for index, system in enumerate(systems):
        results = {}
        for name in metric_names:
            r = table[name][index]
            results[name] = Result(
                score=float(r.score),
                p_value=None if r.p_value is None else float(r.p_value),
                mean=None if r.mean is None else float(r.mean),
                ci=None if r.ci is None else float(r.ci),
            )
        rows.append(Row(system=system.name, is_baseline=index == 0, results=results))
    return Comparison(
        test=test,
        n_samples=paired.n_samples,
        seed=str(paired._seed).lower(),
        metric_names=metric_names,
        rank_by=metric_names[0],
        signatures={name: sig.format() for name, sig in signatures.items()},
        rows=rows,
    )


def format_cell(result: Result, width: int) -> str:
    """sacrebleu's cell: ``score (mean ± ci) (p = 0.0123)*``, ``*`` marking significance."""
    text = f"{result.score:.{width}f}"
    if result.mean is not None and result.ci is not None:
        text += f" ({result.mean:.{width}f} ± {result.ci:.{width}f})"
    if result.p_value is not None:
        text += f" (p = {result.p_value:.4f})"
        if result.significant:
            text += "*"
    return text


def format_table(comparison: Comparison, width: int = 2) -> str:
    """A plain-text ranking table and a legend, for the terminal."""
    bootstrap = comparison.test == "bs"
    header = ["Rank", "System"] + [
        f"{name} (μ ± 95% CI)" if bootstrap else name for name in comparison.metric_names
    ]
    body = []
    for rank, row in enumerate(comparison.ranked(), 1):
        label = f"Baseline: {row.system}" if row.is_baseline else row.system
        cells = [format_cell(row.results[name], width) for name in comparison.metric_names]
        body.append([str(rank), label, *cells])
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [_table_line(header, widths), _table_line(["-" * w for w in widths], widths)]
    lines += [_table_line(line, widths) for line in body]
    lines.append("")
    direction = "lower" if lower_is_better(comparison.rank_by) else "higher"
    lines.append(
        f"{TESTS[comparison.test]} against the baseline, {comparison.n_samples} "
        f"{'resamples' if bootstrap else 'trials'}, seed {comparison.seed}; ranked by "
        f"{comparison.rank_by} ({direction} is better)."
    )
    lines.append(
        f"* p <= {SIGNIFICANCE_LEVEL}: the difference from the baseline is unlikely to be "
        "chance (significance says 'different', not 'better')."
    )
    for name, signature in comparison.signatures.items():
        lines.append(f"  {name} signature: {signature}")
    return "\n".join(lines)


def _table_line(cells: list[str], widths: list[int]) -> str:
    # Rank right-aligned, the rest left-aligned, as a README table would be read.
    parts = [cells[0].rjust(widths[0])] + [c.ljust(w) for c, w in zip(cells[1:], widths[1:])]
    return "  ".join(parts).rstrip()

