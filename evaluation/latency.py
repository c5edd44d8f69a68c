"""Latency of simultaneous translation: AL, LAAL, DAL and AP from each target word's delay, and
normalized erasure for outputs that take text back.

A *delay* ``d_i`` is the number of source words read when target word ``i`` (1-based below)
was shown for good; ``|x|`` is the source length in words, ``|y|`` the hypothesis length in
words (``len(delays)``) and ``|y*|`` the reference length in words. These are SimulEval's
text-to-text conventions (``--eval-latency-unit word``), so each function here equals the
SimulEval 1.1.4 scorer of the same name on the same delays and lengths (``tests/test_simuleval.py``
holds the two to it). Every number is reported as a :class:`LatencyScore` whose signature says
how it was computed, as sacrebleu's do.

Sentence scores are averaged over sentences (as SimulEval does); a sentence with no target
word has no delays and is skipped, and the score records how many were.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import mean
from typing import Any, Sequence

from nmt import __version__

__all__ = [
    "LATENCY_METRICS",
    "LatencyScore",
    "SentenceDelays",
    "average_lagging",
    "average_proportion",
    "corpus_latency",
    "differentiable_average_lagging",
    "length_adaptive_average_lagging",
    "normalized_erasure",
]

LATENCY_METRICS: tuple[str, ...] = ("AL", "LAAL", "DAL", "AP")
# What the delays count, and what the target lengths count: recorded in every signature.
DELAY_UNIT = "word"


def _check(delays: Sequence[float], source_length: float) -> None:
    if not delays:
        raise ValueError("latency needs at least one target word (delays is empty)")
    if source_length <= 0:
        raise ValueError(f"source length must be positive, got {source_length}")


def _lagging(delays: Sequence[float], source_length: float, rate_length: float) -> float:
    """Shared by AL and LAAL: mean over ``i <= tau`` of ``d_i - (i - 1) / gamma``, with
    ``gamma = rate_length / |x|`` and ``tau`` the first ``i`` whose ``d_i >= |x|``."""
    if delays[0] > source_length:  # SimulEval's guard: a first word after the end of the source
        return float(delays[0])
    gamma = rate_length / source_length
    total, tau = 0.0, 0
    for i_minus_1, d in enumerate(delays):
        total += d - i_minus_1 / gamma
        tau = i_minus_1 + 1
        if d >= source_length:
            break
    return total / tau


def average_lagging(delays: Sequence[float], source_length: float,
                    target_length: float | None = None) -> float:
    """Average Lagging (Ma et al. 2019, STACL, eq. 4):

        AL = 1/tau * sum_{i=1..tau} [ d_i - (i - 1) / gamma ],   gamma = |y| / |x|,
        tau = min { i : d_i >= |x| }   (the first word written after the whole source was read)

    ``target_length`` is the ``|y|`` of the rate: the hypothesis length by default, as in the
    paper; SimulEval passes the reference length ``|y*|`` unless ``--no-use-ref-len``. If the
    first delay exceeds ``|x|``, AL is that delay (SimulEval's convention).
    """
    _check(delays, source_length)
    length = len(delays) if target_length is None else target_length
    return _lagging(delays, source_length, length)


def length_adaptive_average_lagging(delays: Sequence[float], source_length: float,
                                    reference_length: float | None = None) -> float:
    """Length-Adaptive Average Lagging (Papi et al. 2022, "Over-Generation Cannot Be
    Rewarded"): AL with the rate taken from the longer of hypothesis and reference,

        gamma = max(|y|, |y*|) / |x|,

    so that writing more words than the reference cannot lower the lag. Without a reference
    it is AL with ``|y|``.
    """
    _check(delays, source_length)
    length = len(delays) if reference_length is None else max(len(delays), reference_length)
    return _lagging(delays, source_length, length)


def differentiable_average_lagging(delays: Sequence[float], source_length: float) -> float:
    """Differentiable Average Lagging (Cherry and Foster 2019, "Thinking Slow about Latency
    Evaluation for Simultaneous Machine Translation", eq. 5):

        DAL = 1/|y| * sum_{i=1..|y|} [ d'_i - (i - 1) / gamma ],   gamma = |y| / |x|,
        d'_1 = d_1,   d'_i = max(d_i, d'_{i-1} + 1/gamma)

    Every word counts (no ``tau`` cut), and a word cannot be credited less than ``1/gamma``
    after the one before it. ``|y|`` is always the hypothesis length, as in SimulEval.
    """
    _check(delays, source_length)
    gamma = len(delays) / source_length
    total, previous = 0.0, 0.0
    for i_minus_1, d in enumerate(delays):
        current = d if i_minus_1 == 0 else max(d, previous + 1 / gamma)
        total += current - i_minus_1 / gamma
        previous = current
    return total / len(delays)


def average_proportion(delays: Sequence[float], source_length: float,
                       target_length: float | None = None) -> float:
    """Average Proportion (Cho and Esipova 2016, "Can neural machine translation do
    simultaneous translation?", eq. 9):

        AP = 1 / (|x| |y|) * sum_{i=1..|y|} d_i

    ``target_length`` is ``|y|``: the hypothesis length by default, as in the paper; SimulEval
    passes the reference length unless ``--no-use-ref-len`` (so its AP can exceed 1).
    """
    _check(delays, source_length)
    length = len(delays) if target_length is None else target_length
    return sum(delays) / (source_length * length)


def normalized_erasure(erased: Sequence[int], final_lengths: Sequence[int]) -> float:
    """Normalized erasure (Arivazhagan et al. 2020, "Re-translation versus Streaming for
    Simultaneous Translation"): target units taken back from the display over a text, divided
    by the length of its final translation; over a corpus, total erased / total final length.

    nmt counts both in target *pieces* (the model's subword tokens, as the paper counts
    tokens): ``Stream.erased`` and ``len(Stream.final_pieces)``. 0 means nothing shown was
    ever changed; wait-k is always 0.
    """
    if len(erased) != len(final_lengths):
        raise ValueError(f"{len(erased)} erasure counts for {len(final_lengths)} translations")
    total = sum(final_lengths)
    return sum(erased) / total if total else 0.0


@dataclass(frozen=True)
class SentenceDelays:
    """One sentence's delays (source words read per target word), its source length in words,
    and its reference length in words (None without a reference)."""

    delays: list[float]
    source_length: int
    reference_length: int | None = None


@dataclass(frozen=True)
class LatencyScore:
    """A corpus latency score and how it was computed (the signature, sacrebleu-style)."""

    name: str
    score: float
    signature: str
    n_sentences: int
    skipped: int = 0

    def format(self, width: int = 2) -> str:
        return f"{self.name} = {self.score:.{width}f}"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "score": self.score, "signature": self.signature,
                "n_sentences": self.n_sentences, "skipped": self.skipped}


def signature(name: str, use_ref_len: bool = True) -> str:
    """How ``name`` was computed: delay and length units, which target length sets the rate,
    the conventions followed and the nmt version. ``NE`` (normalized erasure) is in pieces."""
    if name == "NE":
        return f"NE|unit:piece|version:{__version__}"
    if name not in LATENCY_METRICS:
        raise ValueError(
            f"unknown latency metric {name!r}; choose from {', '.join(LATENCY_METRICS)}")
    length = {"DAL": "hyp", "LAAL": "max(hyp,ref)" if use_ref_len else "hyp"}.get(
        name, "ref" if use_ref_len else "hyp")
    return (f"{name}|unit:{DELAY_UNIT}|src:{DELAY_UNIT}|len:{length}|as:simuleval-1.1"
            f"|version:{__version__}")


def sentence_latency(name: str, sentence: SentenceDelays, use_ref_len: bool = True) -> float:
    """``name`` (one of LATENCY_METRICS) for one sentence, with SimulEval's choice of target
    length: the reference's when ``use_ref_len`` and there is one, else the hypothesis's."""
    if name not in _SENTENCE:
        raise ValueError(f"unknown latency metric {name!r}; choose from {', '.join(LATENCY_METRICS)}")
    ref = sentence.reference_length if use_ref_len else None
    return _SENTENCE[name](sentence.delays, sentence.source_length, ref)


# Each metric as (delays, source length, reference length or None) -> score; DAL's rate is
# always the hypothesis's (Cherry and Foster 2019), so it ignores the reference.
_SENTENCE = {
    "AL": average_lagging,
    "LAAL": length_adaptive_average_lagging,
    "DAL": lambda delays, source_length, _ref: differentiable_average_lagging(delays, source_length),
    "AP": average_proportion,
}


def corpus_latency(name: str, sentences: Sequence[SentenceDelays],
                   use_ref_len: bool = True) -> LatencyScore:
    """The mean of ``name`` over the sentences that have delays (as SimulEval averages)."""
    scored = [sentence_latency(name, s, use_ref_len) for s in sentences if s.delays]
    value = mean(scored) if scored else 0.0
    return LatencyScore(name, value, signature(name, use_ref_len), len(scored),
                        len(sentences) - len(scored))
