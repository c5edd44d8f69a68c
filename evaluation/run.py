"""One evaluation from start to end: check the request, get hypotheses, score, compare, report.

This is the library behind ``nmt evaluate`` (whose thin command line is ``nmt.cli.evaluate``),
usable from Python with the same checks. Every mode shares one path: build the test set, get
each system's hypotheses (read or translated), score, then build and write the report. All
checks that can fail run before any model is loaded, so a mistake never costs a translation
run. Error messages name the command's options, since that is where a request comes from.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nmt.errors import NmtError
from nmt.evaluation import report as report_mod
from nmt.evaluation import sentences, streaming, suites, systems, testset
from nmt.evaluation.compare import DEFAULT_SAMPLES, Comparison, compare, format_table
from nmt.evaluation.io import read_lines, write_lines
from nmt.evaluation.metrics import (
    WIDTH,
    MetricOptions,
    Scorer,
    build_metric,
    check_lengths,
    unique_metrics,
)

__all__ = [
    "DEFAULT_METRICS", "Evaluation", "Request", "evaluate", "notes", "suite_listing", "summary",
]  # fmt: skip

DEFAULT_METRICS = ("bleu", "chrf")


@dataclass
class Request:
    """What to score, against what, and how; fields are named after ``nmt evaluate``'s options.

    Exactly one of ``hyp`` (a hypothesis file) and ``model`` (a model directory to translate
    ``src`` with) is the main system; the test set is ``suite`` or ``src``/``ref`` files.
    """

    hyp: str | None = None
    model: str | None = None
    suite: str | None = None
    src: str | None = None
    ref: list[str] | None = None
    limit: int | None = None
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS))
    options: MetricOptions = field(default_factory=MetricOptions)
    decoding: systems.Decoding = field(default_factory=systems.Decoding)
    compare: list[str] | None = None
    paired_bs: bool = False
    paired_ar: bool = False
    paired_bs_n: int = DEFAULT_SAMPLES["bs"]
    paired_ar_n: int = DEFAULT_SAMPLES["ar"]
    report: str | None = None
    worst: int | None = None
    width: int = WIDTH
    hyp_out: str | None = None
    force: bool = False
    # --streaming: translate --model live, word by word, and measure latency (policy default
    # "retranslate"; k is the policy's setting, see nmt.streaming.Stream).
    streaming: bool = False
    policy: str | None = None
    k: int | None = None


@dataclass
class Evaluation:
    """The outcome: the report (``report.json``'s content) and the parts printed from it."""

    result: dict[str, Any]
    main: systems.System
    comparison: Comparison | None
    worst: dict[str, Any] | None
    evalset: testset.EvalSet
    report_dir: Path | None
    width: int
    streaming: streaming.StreamingResult | None = None


def evaluate(request: Request) -> Evaluation:
    """Run ``request``; NmtError (raised before any translation where it can be) on bad input."""
    _check_mode(request)
    metrics = _check_metrics(request.metrics, request.options)
    hyp_lines = _read_hypotheses(request.hyp)
    evalset = _evalset(request)

    # Read every hypothesis file and check every output path before any model is loaded.
    compare_files = {
        target: systems.from_file(target, evalset)
        for target in request.compare or []
        if not Path(target).is_dir()
    }
    report_dir = _report_dir(request)
    if report_dir is not None:
        report_mod.check_dir(report_dir, request.force)
    if request.hyp_out is not None:
        _check_hyp_out(Path(request.hyp_out), _inputs(request, evalset), request.force)

    streamed = None
    if request.streaming:
        assert request.model is not None  # _check_mode: --streaming needs --model
        streamed = streaming.from_model(request.model, evalset, request.decoding,
                                        request.policy or "retranslate", request.k)
    all_systems = _systems(request, evalset, hyp_lines, compare_files,
                           streamed[0] if streamed else None)

    # `metrics` are unique and checked, so no scorer can fail after the translations.
    scorers = [Scorer(name, evalset.references, request.options) for name in metrics]
    for system in all_systems:
        system.scores = [scorer.corpus(system.hypotheses, request.width) for scorer in scorers]
    comparison = None
    if len(all_systems) > 1:
        test = "ar" if request.paired_ar else "bs"
        n = request.paired_ar_n if request.paired_ar else request.paired_bs_n
        comparison = compare(all_systems, scorers, test=test, n_samples=n)
    main = all_systems[0]
    per_sentence = None
    if report_dir is not None or request.worst is not None:
        per_sentence = sentences.compute(main.hypotheses, scorers)
    worst = None
    if request.worst is not None and per_sentence is not None:
        by = per_sentence.names[0]
        entries = sentences.worst(per_sentence, evalset, main.hypotheses, request.worst, by)
        worst = {"by": by, "n": request.worst, "sentences": entries}

    hyp = main.hyp_file
    if hyp is None and report_dir is not None:
        hyp = str(report_dir / report_mod.hyp_file_name(0))
    result = report_mod.build(
        evalset=evalset, systems=all_systems, metrics=metrics, options=request.options,
        comparison=comparison, sentence_scores=per_sentence, worst=worst, hyp=hyp,
    )  # fmt: skip
    if streamed is not None:
        result["streaming"] = streamed[1].as_dict()
    if report_dir is not None:
        report_mod.write(
            report_dir, result, all_systems, evalset, per_sentence,
            force=request.force, width=request.width,
        )  # fmt: skip
    return Evaluation(result, main, comparison, worst, evalset, report_dir, request.width,
                      streamed[1] if streamed else None)


def summary(evaluation: Evaluation) -> str:
    """The scores as people read them: each score line and its signature, then any tables."""
    parts = []
    for s in evaluation.main.scores:
        parts.append(f"{s.text}\n  signature: {s.signature}")
    if evaluation.streaming is not None:
        parts.append(evaluation.streaming.summary(evaluation.width))
    if evaluation.comparison is not None:
        parts.append("\n" + format_table(evaluation.comparison, evaluation.width))
    if evaluation.worst is not None:
        worst = evaluation.worst
        parts.append(
            "\n" + sentences.format_worst(worst["sentences"], worst["by"], evaluation.width)
        )
    return "\n".join(parts)


def notes(evaluation: Evaluation) -> list[str]:
    """Facts a reader of the numbers must not miss (the command prints them on stderr)."""
    found = []
    evalset = evaluation.evalset
    if evalset.n_sentences < evalset.n_total:
        found.append(
            f"note: scored the first {evalset.n_sentences} of {evalset.n_total} sentences "
            f"(--limit); not comparable with full test-set scores"
        )
    if evaluation.report_dir is not None:
        found.append(f"report written to {evaluation.report_dir}")
    return found


def suite_listing(as_json: bool = False) -> str:
    """The named test suites: a JSON list of their definitions, or one line per suite."""
    found = suites.available()
    if as_json:
        listing = [suites.load(str(path)).as_dict() for path in found.values()]
        return json.dumps(listing, ensure_ascii=False, indent=2)
    lines = ["Test suites (use: nmt evaluate --model DIR --suite NAME):"]
    for name, path in found.items():
        suite = suites.load(str(path))
        n_refs = len(suite.references)
        where = f"{suite.corpus or suite.directory}, {n_refs} ref{'s' * (n_refs != 1)}"
        lines.append(f"  {name:<14} {suite.description} [{where}]")
    return "\n".join(lines)


def _systems(
    request: Request,
    evalset: testset.EvalSet,
    hyp_lines: list[str] | None,
    compare_files: dict[str, systems.System],
    streamed: systems.System | None = None,
) -> list[systems.System]:
    """The main system (``streamed`` if given), then the --compare ones in order, translating
    model directories."""
    if hyp_lines is not None and request.hyp is not None:
        main = systems.System(
            name=request.hyp, kind="hypotheses", path=request.hyp, hyp_file=request.hyp,
            hypotheses=evalset.take(hyp_lines, request.hyp),
        )  # fmt: skip
    else:
        assert request.model is not None  # _check_mode: exactly one of hyp and model
        main = streamed or systems.from_model(request.model, evalset, request.decoding)
        if request.hyp_out is not None:  # saved at once: a later failure must not lose it
            write_lines(request.hyp_out, main.hypotheses, force=request.force)
            main.hyp_file = request.hyp_out
    found = [main]
    for target in request.compare or []:
        if target in compare_files:
            found.append(compare_files[target])
        else:
            found.append(systems.from_model(target, evalset, request.decoding))
    return found


# ----------------------------------------------------------------------------- checks


def _check_mode(request: Request) -> None:
    """Reject option combinations that would be silently ignored or cannot work."""
    r, decoding = request, request.decoding
    if (r.hyp is None) == (r.model is None):
        raise NmtError(
            "give what to score: --hyp FILE (hypotheses) or --model DIR (translate), not both; "
            "or --list-suites"
        )
    models_compared = [t for t in r.compare or [] if Path(t).is_dir()]
    translates = r.model is not None or bool(models_compared)
    for flag, value in (
        ("--beam", decoding.beam),
        ("--length-penalty", decoding.length_penalty),
        ("--batch-size", decoding.batch_size),
    ):
        if value is not None and not translates:
            raise NmtError(
                f"{flag} only applies with --model (or a model directory in --compare); "
                f"with --hyp the hypotheses are read, not translated (drop {flag})"
            )
    _check_streaming(r)
    if r.hyp_out is not None and r.model is None:
        raise NmtError(
            "--hyp-out only applies with --model; with --hyp the hypotheses are already in a "
            "file (drop --hyp-out)"
        )
    for flag, value in (("--beam", decoding.beam), ("--batch-size", decoding.batch_size)):
        if value is not None and value < 1:
            raise NmtError(f"{flag} must be at least 1, got {value}")
    if r.suite is not None:
        for flag, given in (("--src", r.src), ("--ref", r.ref)):
            if given is not None:
                raise NmtError(
                    f"--suite {r.suite} provides the source and references; drop {flag} "
                    "(or drop --suite to use your own files)"
                )
    elif not r.ref:
        raise NmtError("give the references: --ref FILE (repeat for more) or --suite NAME")
    elif r.model is not None and r.src is None:
        raise NmtError("--model needs --src FILE (the source sentences to translate) or --suite")
    if r.model is not None:
        systems.check_model_dir(r.model)
    if r.force and r.hyp_out is None and _report_dir(r) is None:
        raise NmtError("--force only applies with --hyp-out FILE or --report DIR (drop --force)")
    given = [r.hyp or r.model, *(r.compare or [])]
    for index, target in enumerate(given):
        for earlier in given[:index]:
            if Path(target).resolve() == Path(earlier).resolve():
                raise NmtError(
                    f"system {target} is given twice (--compare); compare different systems"
                )
    if r.compare is None and (r.paired_bs or r.paired_ar):
        raise NmtError("--paired-bs / --paired-ar test systems against each other: add --compare")
    for flag, count in (
        ("--worst", r.worst),
        ("--paired-bs-n", r.paired_bs_n),
        ("--paired-ar-n", r.paired_ar_n),
    ):
        if count is not None and count < 1:
            raise NmtError(f"{flag} must be at least 1, got {count}")
    if r.width < 0:
        raise NmtError(f"--width must be 0 or more, got {r.width}")


def _check_streaming(r: Request) -> None:
    from nmt.streaming import POLICIES

    if not r.streaming:
        for flag, value in (("--policy", r.policy), ("--k", r.k)):
            if value is not None:
                raise NmtError(f"{flag} only applies with --streaming (add it, or drop {flag})")
        return
    if r.model is None:
        raise NmtError("--streaming translates live with --model DIR; hypotheses read with "
                       "--hyp have no delays to measure")
    if r.compare:
        raise NmtError("--streaming evaluates one model; drop --compare (or run one "
                       "`nmt evaluate --streaming` per model)")
    if r.policy is not None and r.policy not in POLICIES:
        raise NmtError(f"--policy {r.policy}: unknown streaming policy; choose one of: "
                       f"{', '.join(POLICIES)}")


def _check_metrics(names: list[str], options: MetricOptions) -> list[str]:
    """Set every metric up once now, so a bad option fails before anything slow."""
    metrics = unique_metrics(names)
    if "chrf" in metrics and "chrf++" in metrics and options.chrf_word_order == 2:
        raise NmtError(
            "chrf with --chrf-word-order 2 is chrf++, which is also requested; ask for it once"
        )
    for name in metrics:
        build_metric(name, options)
    return metrics


def _read_hypotheses(path: str | None) -> list[str] | None:
    if path is None:
        return None
    lines = read_lines(path)
    if not lines:
        check_lengths(0, [0], hyp_name=path)  # raises: says the file is empty
    return lines


def _evalset(request: Request) -> testset.EvalSet:
    if request.suite is not None:
        return testset.from_suite(suites.prepare(suites.load(request.suite)), request.limit)
    assert request.ref is not None  # _check_mode: --ref is required without --suite
    return testset.from_files(request.src, request.ref, request.limit)


def _report_dir(request: Request) -> Path | None:
    """--report, or next to the model when a model is evaluated on a named suite."""
    if request.report is not None:
        return Path(request.report)
    if request.model is not None and request.suite is not None:
        name = Path(request.suite).stem
        if request.limit is not None:
            name += f"-first{request.limit}"
        if request.streaming:  # beside, not over, the offline report
            name += f"-streaming-{request.policy or 'retranslate'}"
            name += "" if request.k is None else f"-k{request.k}"
        return Path(request.model) / "eval" / name
    return None


def _inputs(request: Request, evalset: testset.EvalSet) -> list[Path]:
    paths = [Path(name) for name in evalset.ref_names]
    if evalset.source_name is not None:
        paths.append(Path(evalset.source_name))
    paths += [Path(t) for t in request.compare or [] if not Path(t).is_dir()]
    return paths


def _check_hyp_out(path: Path, inputs: list[Path], force: bool) -> None:
    if path.exists() and not force:
        raise NmtError(
            f"{path} already exists; choose another file or pass --force to overwrite it"
        )
    for other in inputs:
        if path.exists() and other.exists() and os.path.samefile(path, other):
            raise NmtError(
                f"--hyp-out {path} is the same file as input {other}; "
                "writing the translations there would destroy it: choose another file"
            )
