"""One evaluation from start to end: check the request, get hypotheses, score, compare, report.

This is the library behind ``nmt evaluate`` (whose thin command line is ``nmt.cli.evaluate``),
usable from Python with the same checks. Every mode shares one path: build the test set, get
each system's hypotheses (read or translated), score, then build and write the report; a suite
with several test sets takes that path once per set, then adds a report of them all. All
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
from nmt.evaluation import record, sentences, streaming, suites, systems, testset
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
    "DEFAULT_METRICS", "DEFAULT_REPORTS", "Evaluation", "Request", "SuiteEvaluation", "evaluate",
    "notes", "suite_listing", "summary",
]  # fmt: skip

DEFAULT_METRICS = ("bleu", "chrf")
# Where `--model DIR --suite NAME` writes its report without --report: under the current
# directory, never inside the model (which may be the installed package's bundled model).
DEFAULT_REPORTS = Path("reports")


@dataclass
class Request:
    """What to score, against what, and how; fields are named after ``nmt evaluate``'s options.

    Exactly one of ``hyp`` (a hypothesis file) and ``model`` (a model directory to translate
    ``src`` with) is the main system; the test set is ``suite`` (all its sets, or those named in
    ``test_sets``) or ``src``/``ref`` files.
    """

    hyp: str | None = None
    model: str | None = None
    ensemble: list[str] = field(default_factory=list)  # more models decoding with ``model``
    suite: str | None = None
    test_sets: list[str] | None = None
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
    # --record-scores: write each set's test BLEU and chrF into the model's nmt.json.
    record_scores: bool = False


@dataclass
class Evaluation:
    """The outcome on one test set: the report (``report.json``'s content) and the parts
    printed from it."""

    result: dict[str, Any]
    main: systems.System
    comparison: Comparison | None
    worst: dict[str, Any] | None
    evalset: testset.EvalSet
    report_dir: Path | None
    width: int
    streaming: streaming.StreamingResult | None = None
    recorded: record.Recorded | None = None


@dataclass
class SuiteEvaluation:
    """The outcome on a suite's several test sets: one Evaluation per set, in the suite's
    order, and the combined report (``{"suite": ..., "sets": [each set's report]}``)."""

    suite: suites.Suite
    sets: list[Evaluation]
    result: dict[str, Any]
    report_dir: Path | None
    width: int
    recorded: record.Recorded | None = None


def evaluate(request: Request) -> Evaluation | SuiteEvaluation:
    """Run ``request``; NmtError (raised before any translation where it can be) on bad input.

    One test set (files, a one-set suite, or one ``--test-set``) gives an Evaluation, whose
    report is the one every earlier version wrote; several give a SuiteEvaluation: the same
    path once per set, then a report that holds each set's.
    """
    _check_mode(request)
    metrics = _check_metrics(request.metrics, request.options)
    hyp_lines = _read_hypotheses(request.hyp)
    suite, evalsets = _evalsets(request)
    several = len(evalsets) > 1
    if several:
        _check_several(request, suite)

    # Read every hypothesis file and check every output path before any model is loaded.
    report_dir = _report_dir(request)
    compare_files = [
        {target: systems.from_file(target, evalset)
         for target in request.compare or [] if not Path(target).is_dir()}
        for evalset in evalsets
    ]  # fmt: skip
    if report_dir is not None:
        report_mod.check_dir(report_dir, request.force)
    if request.hyp_out is not None:
        _check_hyp_out(Path(request.hyp_out), _inputs(request, evalsets[0]), request.force)
    if request.record_scores:
        assert request.model is not None  # _check_mode: --record-scores needs --model
        record.check_writable(request.model)

    translators: dict[str, Any] = {}  # each model loaded once, whatever the number of sets
    done = []
    for evalset, files in zip(evalsets, compare_files):
        set_dir = report_dir
        if several and report_dir is not None:
            assert evalset.suite is not None and evalset.suite.test_set.name is not None
            set_dir = report_dir / evalset.suite.test_set.name
        done.append(_evaluate_set(request, evalset, metrics, hyp_lines, files, set_dir,
                                  translators))

    outcome: Evaluation | SuiteEvaluation = done[0]
    if several:
        assert suite is not None  # several sets come from a suite
        result = report_mod.build_suite(suite, [e.result for e in done])
        if report_dir is not None:
            report_mod.write_suite(report_dir, result, request.width)
        outcome = SuiteEvaluation(suite, done, result, report_dir, request.width)
    if request.record_scores:
        assert request.model is not None and suite is not None
        outcome.recorded = record.record(request.model, suite,
                                         [(e.evalset, e.main) for e in done])
    return outcome


def _evaluate_set(
    request: Request,
    evalset: testset.EvalSet,
    metrics: list[str],
    hyp_lines: list[str] | None,
    compare_files: dict[str, systems.System],
    report_dir: Path | None,
    translators: dict[str, Any],
) -> Evaluation:
    """The one path, on one test set: hypotheses (read or translated), scores, comparison,
    per-sentence scores, then the report, written to ``report_dir`` when there is one."""
    streamed = None
    if request.streaming:
        assert request.model is not None  # _check_mode: --streaming needs --model
        streamed = streaming.from_model(
            request.model, evalset, request.decoding, request.policy or "retranslate",
            request.k, translator=_translator(translators, request.model, request.decoding,
                                              request.ensemble),
        )  # fmt: skip
    all_systems = _systems(request, evalset, hyp_lines, compare_files, translators,
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


def summary(evaluation: Evaluation | SuiteEvaluation) -> str:
    """The scores as people read them: each score line and its signature, then any tables;
    for several test sets, that under each set's name, then one table of them all."""
    if isinstance(evaluation, SuiteEvaluation):
        parts = []
        for each in evaluation.sets:
            parts.append(f"== {_set_heading(each.evalset)} ==\n{summary(each)}\n")
        parts.append(_sets_table(evaluation))
        return "\n".join(parts)
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


def notes(evaluation: Evaluation | SuiteEvaluation) -> list[str]:
    """Facts a reader of the numbers must not miss (the command prints them on stderr)."""
    found = []
    several = isinstance(evaluation, SuiteEvaluation)
    for each in evaluation.sets if several else [evaluation]:
        evalset = each.evalset
        if evalset.n_sentences < evalset.n_total:
            where = f"{evalset.label}: " if several else ""
            found.append(
                f"note: {where}scored the first {evalset.n_sentences} of {evalset.n_total} "
                "sentences (--limit); not comparable with full test-set scores"
            )
    if evaluation.report_dir is not None:
        found.append(f"report written to {evaluation.report_dir}")
    if evaluation.recorded is not None:
        scores = ", ".join(f"{k} {v:.2f}" for k, v in evaluation.recorded.scores.items())
        found.append(f"recorded in {evaluation.recorded.path}: {scores} (one reference; "
                     "details under score_details)")
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
        where = "; ".join(
            (f"{s.name}: " if s.name else "") + f"{s.corpus or s.directory}, "
            f"{len(s.references)} ref{'s' * (len(s.references) != 1)}"
            for s in suite.sets
        )
        lines.append(f"  {name:<14} {suite.description} [{where}]")
    return "\n".join(lines)


def _set_heading(evalset: testset.EvalSet) -> str:
    assert evalset.suite is not None
    test_set = evalset.suite.test_set
    n, total, n_refs = evalset.n_sentences, evalset.n_total, len(evalset.references)
    what = f" ({test_set.description})" if test_set.description else ""
    count = f"{n} sentences" if n == total else f"the first {n} of {total} sentences"
    return f"{evalset.label}{what}: {count}, {n_refs} reference{'s' * (n_refs != 1)}"


def _sets_table(evaluation: SuiteEvaluation) -> str:
    """The main system's scores, one row per test set."""
    first = evaluation.sets[0].main.scores
    labels = [e.evalset.label or "" for e in evaluation.sets]
    width = max(len("Test set"), *map(len, labels))
    head = "Test set".ljust(width) + "".join(f"  {s.name:>8}" for s in first)
    rows = [head]
    for label, each in zip(labels, evaluation.sets):
        cells = "".join(f"  {s.score:>8.{evaluation.width}f}" for s in each.main.scores)
        rows.append(label.ljust(width) + cells)
    return "\n".join(rows)


def _translator(translators: dict[str, Any], path: str, decoding: systems.Decoding,
                members: list[str] = ()) -> Any:
    """The model in ``path`` (with ``members``, an ensemble), loaded on first use and kept for
    the run's other test sets."""
    if path not in translators:
        translators[path] = systems.load_translator(path, decoding.quantize, members)
    return translators[path]


def _systems(
    request: Request,
    evalset: testset.EvalSet,
    hyp_lines: list[str] | None,
    compare_files: dict[str, systems.System],
    translators: dict[str, Any],
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
        main = streamed or _from_model(request, request.model, evalset, translators,
                                       request.ensemble)
        if request.hyp_out is not None:  # saved at once: a later failure must not lose it
            write_lines(request.hyp_out, main.hypotheses, force=request.force)
            main.hyp_file = request.hyp_out
    found = [main]
    for target in request.compare or []:
        if target in compare_files:
            found.append(compare_files[target])
        else:
            found.append(_from_model(request, target, evalset, translators))
    return found


def _from_model(request: Request, path: str, evalset: testset.EvalSet,
                translators: dict[str, Any], members: list[str] = ()) -> systems.System:
    if evalset.sources is None:  # from_model says what is missing, before loading anything
        return systems.from_model(path, evalset, request.decoding)
    return systems.from_model(path, evalset, request.decoding,
                              translator=_translator(translators, path, request.decoding, members))


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
        ("--quantize", decoding.quantize),
    ):
        if value is not None and not translates:
            raise NmtError(
                f"{flag} only applies with --model (or a model directory in --compare); "
                f"with --hyp the hypotheses are read, not translated (drop {flag})"
            )
    _check_streaming(r)
    _check_record(r)
    if r.test_sets is not None and r.suite is None:
        raise NmtError("--test-set chooses among a suite's test sets; add --suite NAME")
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
        for path in (r.model, *r.ensemble):
            systems.check_model_dir(path)
    if r.ensemble and r.record_scores:
        raise NmtError("--record-scores writes one model's scores into its nmt.json; give "
                       "--model once")
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


def _check_record(r: Request) -> None:
    """--record-scores writes a model's test scores: refuse whatever would make them not be."""
    if not r.record_scores:
        return
    if r.model is None or r.suite is None:
        raise NmtError("--record-scores writes a model's test scores into its nmt.json: give "
                       "--model DIR and --suite NAME")
    for flag, given, why in (
        ("--limit", r.limit is not None, "scores of the first sentences are not test scores"),
        ("--test-set", r.test_sets is not None, "the scores recorded replace the earlier ones "
         "of every set, so every set is evaluated"),
        ("--streaming", r.streaming, "a model's test scores are those of offline translation"),
        ("--quantize", r.decoding.quantize is not None, "the scores recorded are the model's "
         "own weights'"),
    ):
        if given:
            raise NmtError(f"--record-scores: drop {flag} ({why})")
    if r.options != MetricOptions():
        raise NmtError("--record-scores records BLEU and chrF with sacrebleu's default "
                       "settings, comparable with other models' scores; drop the metric "
                       "options (--tokenize, --lowercase, --chrf-..., ...)")


def _check_several(r: Request, suite: suites.Suite | None) -> None:
    """Options that name one file cannot serve several test sets: say how to choose one."""
    assert suite is not None
    names = ", ".join(s.name or "" for s in suite.sets)
    choose = f"add --test-set NAME (suite {suite.name} has sets {names})"
    if r.hyp is not None:
        raise NmtError(f"--hyp {r.hyp} holds the hypotheses of one test set; {choose}")
    files = [t for t in r.compare or [] if not Path(t).is_dir()]
    if files:
        raise NmtError(f"--compare {files[0]} holds the hypotheses of one test set (model "
                       f"directories are translated on every set); {choose}")
    if r.hyp_out is not None:
        raise NmtError(f"--hyp-out saves the translations of one test set; {choose}, or find "
                       "each set's translations in the report (REPORT/SET/hyp.txt)")


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


def _evalsets(request: Request) -> tuple[suites.Suite | None, list[testset.EvalSet]]:
    """The suite (None for --src/--ref files) and its test sets chosen by --test-set (all by
    default), each read and checked."""
    if request.suite is not None:
        suite = suites.load(request.suite)
        prepared = suites.prepare(suite, request.test_sets)
        return suite, [testset.from_suite(p, request.limit) for p in prepared]
    assert request.ref is not None  # _check_mode: --ref is required without --suite
    return None, [testset.from_files(request.src, request.ref, request.limit)]


def _report_dir(request: Request) -> Path | None:
    """--report, or reports/MODEL/SUITE under the current directory when a model is evaluated
    on a named suite (not beside the model: that may be inside the installed package)."""
    if request.report is not None:
        return Path(request.report)
    if request.model is not None and request.suite is not None:
        name = Path(request.suite).stem
        if request.test_sets:
            name += "-" + "-".join(request.test_sets)
        if request.limit is not None:
            name += f"-first{request.limit}"
        if request.streaming:  # beside, not over, the offline report
            name += f"-streaming-{request.policy or 'retranslate'}"
            name += "" if request.k is None else f"-k{request.k}"
        return DEFAULT_REPORTS / Path(request.model).resolve().name / name
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
