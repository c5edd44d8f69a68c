"""Evaluate a model as a live translator: feed each source sentence word by word through an
:class:`nmt.streaming.Stream`, keep the final translations (scored with BLEU and chrF like any
system) and measure the latency (AL, LAAL, DAL, AP) and normalized erasure of the stream.

This is ``nmt evaluate --streaming``; :mod:`nmt.evaluation.run` calls :func:`from_model` in
place of an offline translation and adds :meth:`StreamingResult.as_dict` to the report.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nmt.evaluation import systems
from nmt.evaluation.latency import (
    LATENCY_METRICS,
    LatencyScore,
    SentenceDelays,
    corpus_latency,
    normalized_erasure,
    signature,
)
from nmt.evaluation.testset import EvalSet

__all__ = ["SentenceStream", "StreamingResult", "feed", "from_model"]


@dataclass(frozen=True)
class SentenceStream:
    """One sentence fed through a stream: the final translation, each of its words' delay (source
    words read when it was shown for good), the target pieces erased on the way, and sizes."""

    hypothesis: str
    delays: list[int]
    source_length: int
    reference_length: int | None
    erased: int
    final_pieces: int
    updates: int


@dataclass
class StreamingResult:
    """The streaming run of a test set: per-sentence records and the corpus latency scores."""

    policy: str
    k: int | None
    sentences: list[SentenceStream]
    scores: list[LatencyScore]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        updates = sum(s.updates for s in self.sentences)
        return {
            "policy": self.policy,
            "k": self.k,
            "latency": [s.as_dict() for s in self.scores],
            "seconds": self.seconds,
            "updates": updates,
            "ms_per_update": 1000 * self.seconds / updates if updates else None,
            "sentences": [asdict(s) for s in self.sentences],
        }

    def summary(self, width: int = 2) -> str:
        k = "" if self.k is None else f", k={self.k}"
        lines = [f"streaming: policy {self.policy}{k}, {len(self.sentences)} sentences fed "
                 "word by word"]
        for s in self.scores:
            lines.append(f"{s.format(width)}\n  signature: {s.signature}")
        return "\n".join(lines)


def feed(stream: Any, source: str) -> tuple[str, int]:
    """Push ``source`` into ``stream`` one word at a time, as a live text arrives (each word
    with the space after it, the last one without), then finish. Returns the translation and
    the number of updates computed (a push without a new complete word computes none)."""
    words = source.split()
    pushes = [word + " " for word in words[:-1]] + words[-1:]
    updates, last = 0, None
    for text in pushes:
        update = stream.push(text)
        updates += update is not last
        last = update
    translation = stream.finish()
    return translation, updates + 1


def run_sentences(translator: Any, sources: list[str], references: list[str] | None,
                  policy: str, k: int | None, options: Any) -> list[SentenceStream]:
    """Feed each source through its own Stream over ``translator``; ``references`` (one per
    source, or None) give the reference lengths in words that AL, LAAL and AP use."""
    from nmt.streaming import Stream

    found = []
    for index, source in enumerate(sources):
        stream = Stream(translator, policy=policy, k=k, options=options)
        hypothesis, updates = feed(stream, source)
        delays = stream.word_delays()
        if len(delays) != len(hypothesis.split()):  # the two must count the same words
            raise RuntimeError(f"sentence {index + 1}: {len(delays)} delays for "
                               f"{len(hypothesis.split())} words of {hypothesis!r}")
        reference = None if references is None else len(references[index].split())
        found.append(SentenceStream(
            hypothesis=hypothesis.rstrip(), delays=delays, source_length=len(source.split()),
            reference_length=reference, erased=stream.erased,
            final_pieces=len(stream.final_pieces), updates=updates,
        ))  # fmt: skip
    return found


def scores(sentences: list[SentenceStream], use_ref_len: bool = True) -> list[LatencyScore]:
    """AL, LAAL, DAL and AP (averaged over sentences), then normalized erasure (NE, pieces)."""
    delays = [SentenceDelays(s.delays, s.source_length, s.reference_length) for s in sentences]
    found = [corpus_latency(name, delays, use_ref_len) for name in LATENCY_METRICS]
    erasure = normalized_erasure([s.erased for s in sentences],
                                 [s.final_pieces for s in sentences])
    found.append(LatencyScore("NE", erasure, signature("NE"), len(sentences)))
    return found


def from_model(path: str | Path, evalset: EvalSet, decoding: systems.Decoding, policy: str,
               k: int | None, translator: Any = None) -> tuple[systems.System, StreamingResult]:
    """Translate the test set's source live with the model in ``path`` (``translator``, when
    it is already loaded): the system (its final translations, for BLEU and chrF) and the
    streaming measurements. Latency takes the first reference's length where the metric uses
    one (as SimulEval, which has one reference)."""
    if evalset.sources is None:  # run._check_mode requires --src or --suite; kept as a guard
        raise RuntimeError("streaming evaluation needs source sentences")
    if translator is None:
        translator = systems.load_translator(path, decoding.quantize)
    systems.check_languages(translator, evalset, path)
    options = translator.resolve(beam=decoding.beam, length_penalty=decoding.length_penalty,
                                 batch_size=decoding.batch_size)
    started = time.perf_counter()
    sentences = run_sentences(translator, evalset.sources, evalset.references[0], policy, k,
                              options)
    seconds = time.perf_counter() - started
    hypotheses = [s.hypothesis for s in sentences]
    system = systems.System(
        name=str(path), kind="model", path=str(path), hypotheses=hypotheses,
        model=systems.model_info(translator), decoding=asdict(options),
        speed=systems.speed_record(evalset.sources, hypotheses, seconds, translator),
    )  # fmt: skip
    if sys.stderr.isatty():
        print(f"streamed {len(sentences)} sentences in {seconds:.1f} s", file=sys.stderr)
    return system, StreamingResult(policy, k, sentences, scores(sentences), seconds)
