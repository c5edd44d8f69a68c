"""The sentences a run is scored on: source (when known) and reference streams, checked.

Everything is read and checked for alignment before any model is loaded, so a bad file costs
nothing; ``--limit`` is applied only after the whole files were checked, so a quick run on the
first sentences still refuses files that would be misaligned further down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nmt.errors import NmtError
from nmt.evaluation.io import read_lines
from nmt.evaluation.metrics import check_lengths
from nmt.evaluation.suites import PreparedSet

__all__ = ["EvalSet", "from_files", "from_suite"]


@dataclass
class EvalSet:
    """Line-aligned source and references, cut to ``limit`` sentences when one is given."""

    sources: list[str] | None
    source_name: str | None
    references: list[list[str]]
    ref_names: list[str]
    n_total: int
    limit: int | None = None
    src_lang: str | None = None
    tgt_lang: str | None = None
    suite: PreparedSet | None = None

    @property
    def label(self) -> str | None:
        """The suite's name for this set (``bible-en-fr/web``); None for --src/--ref files."""
        return None if self.suite is None else self.suite.label

    @property
    def n_sentences(self) -> int:
        return len(self.references[0])

    def take(self, lines: list[str], name: str) -> list[str]:
        """Check a hypothesis stream against the test set, then cut it to the limit.

        With ``--limit N`` a file of exactly N lines (the first N translated) is accepted
        too; any other length is refused, as it cannot be aligned with certainty.
        """
        if self.n_sentences < self.n_total and len(lines) == self.n_sentences:
            return lines
        if lines and self.n_sentences < self.n_total and len(lines) != self.n_total:
            raise NmtError(
                f"{name} has {len(lines)} lines but the test set has {self.n_total} "
                f"(--limit {self.n_sentences} scores the first {self.n_sentences}); give "
                f"hypotheses for all {self.n_total} sentences or for exactly the first "
                f"{self.n_sentences}"
            )
        check_lengths(
            len(lines), [self.n_total] * len(self.references),
            hyp_name=name, ref_names=self.ref_names,
        )  # fmt: skip
        return lines[: self.n_sentences]

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "label": self.label,
            "source": self.source_name,
            "references": self.ref_names,
            "n_sentences": self.n_sentences,
            "n_total": self.n_total,
            "limit": self.limit,
            "src_lang": self.src_lang,
            "tgt_lang": self.tgt_lang,
        }
        if self.suite is not None:
            data["suite"] = self.suite.suite.set_dict(self.suite.test_set)
            data["directory"] = str(self.suite.directory)
            if self.suite.corpus_meta is not None:
                data["corpus_meta"] = self.suite.corpus_meta
        return data


def from_files(source: str | None, references: list[str], limit: int | None) -> EvalSet:
    """The test set given as ``--src`` (optional) and ``--ref`` files."""
    if not references:
        raise NmtError("no reference given; give --ref FILE (repeat for more) or --suite NAME")
    ref_names = [str(path) for path in references]
    streams = [read_lines(path) for path in references]
    sources = None if source is None else read_lines(source)
    return _build(sources, None if source is None else str(source), streams, ref_names, limit)


def from_suite(prepared: PreparedSet, limit: int | None) -> EvalSet:
    """The test set a prepared suite set names."""
    ref_names = [str(path) for path in prepared.references]
    streams = [read_lines(path) for path in prepared.references]
    sources = read_lines(prepared.source)
    evalset = _build(sources, str(prepared.source), streams, ref_names, limit)
    evalset.src_lang, evalset.tgt_lang = prepared.src_lang, prepared.tgt_lang
    evalset.suite = prepared
    return evalset


def _build(
    sources: list[str] | None,
    source_name: str | None,
    streams: list[list[str]],
    ref_names: list[str],
    limit: int | None,
) -> EvalSet:
    n_total = len(streams[0])
    if n_total == 0:
        raise NmtError(f"{ref_names[0]} is empty; a reference needs one sentence per line")
    check_lengths(n_total, [len(s) for s in streams], hyp_name=ref_names[0], ref_names=ref_names)
    if sources is not None:
        check_lengths(
            len(sources), [len(s) for s in streams],
            hyp_name=f"source {source_name}", ref_names=ref_names,
        )  # fmt: skip
    if limit is not None:
        if limit < 1:
            raise NmtError(f"--limit must be at least 1, got {limit}")
        streams = [s[:limit] for s in streams]
        sources = None if sources is None else sources[:limit]
    return EvalSet(
        sources=sources,
        source_name=source_name,
        references=streams,
        ref_names=ref_names,
        n_total=n_total,
        limit=limit,
    )
