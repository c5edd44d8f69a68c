"""Score translations with sacrebleu (BLEU, chrF, chrF++, TER); the numbers equal those of the
sacrebleu command line on the same files and options. Give hypotheses with --hyp, or a model
to translate with --model; the test set is --src/--ref files or a named --suite (see
--list-suites). --compare ranks more systems with sacrebleu's paired significance tests,
--worst N shows the sentences a system does worst on, and --report DIR writes report.json,
report.md, the hypotheses and per-sentence scores.
"""

# Every mode shares one path: build the test set, get each system's hypotheses (read or
# translated), score, then print and write. All checks that can fail run before any model
# is loaded, so a mistake never costs a translation run. The module docstring above is the
# `nmt evaluate --help` description.

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from nmt.errors import NmtError
from nmt.evaluation import report as report_mod
from nmt.evaluation import sentences, suites, systems, testset
from nmt.evaluation.compare import DEFAULT_SAMPLES, compare, format_table
from nmt.evaluation.io import read_lines, write_lines
from nmt.evaluation.metrics import (
    METRICS,
    WIDTH,
    MetricOptions,
    Scorer,
    build_metric,
    check_lengths,
    unique_metrics,
)

__all__ = ["HELP", "add_arguments", "run"]

HELP = "score and compare translations with sacrebleu (BLEU, chrF, chrF++, TER)"

DEFAULT_METRICS = ("bleu", "chrf")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options; rules between options are checked in `run` to give NmtError
    messages (argparse's own errors cannot say what to do instead)."""
    system = parser.add_argument_group("what to score (one of)")
    system.add_argument(
        "--hyp", metavar="FILE", help="hypotheses to score, one sentence per line (UTF-8)"
    )
    system.add_argument(
        "--model", metavar="DIR", help="trained model directory: translate the source, then score"
    )
    system.add_argument(
        "--list-suites", action="store_true", help="list the named test suites, then exit"
    )

    data = parser.add_argument_group("test set")
    data.add_argument(
        "--suite",
        metavar="NAME",
        help="named test suite (e.g. bible-en-fr; prepared on first use) or a suite .yaml file",
    )
    data.add_argument("--src", metavar="FILE", help="source sentences (translated with --model)")
    data.add_argument(
        "--ref",
        metavar="FILE",
        action="extend",
        nargs="+",
        help="reference translations, line-aligned with the hypotheses; repeat for more",
    )
    data.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="score only the first N sentences, for a quick look (recorded in the report)",
    )

    metrics = parser.add_argument_group(
        "metrics (options as sacrebleu's command line names them)"
    )
    metrics.add_argument(
        "--metrics",
        nargs="+",
        type=str.lower,
        choices=METRICS,
        default=list(DEFAULT_METRICS),
        metavar="NAME",
        help=f"metrics, from {', '.join(METRICS)} (default: {' '.join(DEFAULT_METRICS)}); "
        "the first one ranks systems and picks the --worst sentences",
    )
    metrics.add_argument(
        "--tokenize", metavar="TOK", help="BLEU tokenizer: 13a (default), intl, char, none, ..."
    )
    metrics.add_argument("--lowercase", action="store_true", help="case-insensitive BLEU")
    metrics.add_argument(
        "--smooth-method", default="exp", metavar="M",
        help="BLEU smoothing: exp (default), floor, add-k, none",
    )  # fmt: skip
    metrics.add_argument(
        "--smooth-value", type=float, metavar="V", help="value for floor / add-k smoothing"
    )
    metrics.add_argument("--chrf-char-order", type=int, default=6, metavar="N",
                         help="chrF character n-gram order (default: 6)")
    metrics.add_argument("--chrf-word-order", type=int, default=0, metavar="N",
                         help="chrF word n-gram order (default: 0; chrf++ always uses 2)")
    metrics.add_argument("--chrf-beta", type=int, default=2, metavar="B",
                         help="chrF recall weight (default: 2)")
    metrics.add_argument("--chrf-whitespace", action="store_true",
                         help="keep whitespace in chrF character n-grams")
    metrics.add_argument("--chrf-lowercase", action="store_true", help="case-insensitive chrF")
    metrics.add_argument("--chrf-eps-smoothing", action="store_true",
                         help="chrF epsilon smoothing (as chrF++.py, NLTK, Moses)")
    metrics.add_argument("--ter-case-sensitive", action="store_true",
                         help="case-sensitive TER")
    metrics.add_argument("--ter-asian-support", action="store_true",
                         help="TER: treat Asian characters specially")
    metrics.add_argument("--ter-no-punct", action="store_true", help="TER: remove punctuation")
    metrics.add_argument("--ter-normalized", action="store_true",
                         help="TER: basic normalization and tokenization")

    decoding = parser.add_argument_group("decoding (when a model translates)")
    decoding.add_argument(
        "--beam", type=int, default=None, metavar="K",
        help="beam size (default: the beam in the model's config)",
    )  # fmt: skip
    decoding.add_argument("--length-penalty", type=float, default=None, metavar="A",
                          help="length penalty alpha (default: the model's config)")
    decoding.add_argument("--batch-size", type=int, default=None, metavar="N",
                          help="sentences per batch (default: the model's config)")

    comparison = parser.add_argument_group("comparing systems")
    comparison.add_argument(
        "--compare",
        metavar="DIR_OR_HYP",
        action="extend",
        nargs="+",
        help="more systems (model directories or hypothesis files) to test against the first",
    )
    test = comparison.add_mutually_exclusive_group()
    test.add_argument("--paired-bs", action="store_true",
                      help="paired bootstrap resampling test (the default)")
    test.add_argument("--paired-ar", action="store_true",
                      help="paired approximate randomization test instead")
    comparison.add_argument(
        "--paired-bs-n", type=int, default=DEFAULT_SAMPLES["bs"], metavar="N",
        help=f"bootstrap resamples (default: {DEFAULT_SAMPLES['bs']})",
    )  # fmt: skip
    comparison.add_argument(
        "--paired-ar-n", type=int, default=DEFAULT_SAMPLES["ar"], metavar="N",
        help=f"approximate randomization trials (default: {DEFAULT_SAMPLES['ar']})",
    )  # fmt: skip

    output = parser.add_argument_group("output")
    output.add_argument(
        "--report",
        metavar="DIR",
        help="write report.json, report.md, hypotheses and per-sentence scores to DIR "
        "(default with --model and --suite: MODEL/eval/SUITE)",
    )
    output.add_argument(
        "--worst", type=int, metavar="N",
        help="print the N sentences with the worst sentence-level score (first metric)",
    )  # fmt: skip
    output.add_argument("--width", type=int, default=WIDTH, metavar="W",
                        help=f"decimals in printed scores (default: {WIDTH}; sacrebleu's -w)")
    output.add_argument(
        "--hyp-out", metavar="FILE", help="also save the translations to FILE (--model)"
    )
    output.add_argument(
        "--force", action="store_true", help="let --hyp-out / --report replace earlier output"
    )
    output.add_argument("--json", action="store_true", help="print one JSON object (the report)")


def run(args: argparse.Namespace) -> int:
    """Score, print the results on stdout, return the exit status (errors raise NmtError)."""
    if args.list_suites:
        return _list_suites(args)
    _check_mode(args)
    options = _metric_options(args)
    metrics = _check_metrics(args.metrics, options)
    hyp_lines = _read_hypotheses(args.hyp)
    evalset = _evalset(args)

    # Read every hypothesis file and check every output path before any model is loaded.
    compare_files = {
        target: systems.from_file(target, evalset)
        for target in args.compare or []
        if not Path(target).is_dir()
    }
    report_dir = _report_dir(args)
    if report_dir is not None:
        report_mod.check_dir(report_dir, args.force)
    if args.hyp_out is not None:
        _check_hyp_out(Path(args.hyp_out), _inputs(args, evalset), args.force)

    all_systems = _systems(args, evalset, hyp_lines, compare_files)

    # `metrics` are unique and checked, so no scorer can fail after the translations.
    scorers = [Scorer(name, evalset.references, options) for name in metrics]
    for system in all_systems:
        system.scores = [scorer.corpus(system.hypotheses, args.width) for scorer in scorers]
    comparison = None
    if len(all_systems) > 1:
        test = "ar" if args.paired_ar else "bs"
        n = args.paired_ar_n if args.paired_ar else args.paired_bs_n
        comparison = compare(all_systems, scorers, test=test, n_samples=n)
    main = all_systems[0]
    per_sentence = None
    if report_dir is not None or args.worst is not None:
        per_sentence = sentences.compute(main.hypotheses, scorers)
    worst = None
    if args.worst is not None and per_sentence is not None:
        by = per_sentence.names[0]
        entries = sentences.worst(per_sentence, evalset, main.hypotheses, args.worst, by)
        worst = {"by": by, "n": args.worst, "sentences": entries}

    hyp = main.hyp_file
    if hyp is None and report_dir is not None:
        hyp = str(report_dir / report_mod.hyp_file_name(0))
    result = report_mod.build(
        evalset=evalset, systems=all_systems, metrics=metrics, options=options,
        comparison=comparison, sentence_scores=per_sentence, worst=worst, hyp=hyp,
    )  # fmt: skip
    if report_dir is not None:
        report_mod.write(
            report_dir, result, all_systems, evalset, per_sentence,
            force=args.force, width=args.width,
        )  # fmt: skip
    _print(args, result, main, comparison, worst)
    _notes(evalset, report_dir)
    return 0


def _systems(
    args: argparse.Namespace,
    evalset: testset.EvalSet,
    hyp_lines: list[str] | None,
    compare_files: dict[str, systems.System],
) -> list[systems.System]:
    """The main system, then the --compare ones in order, translating model directories."""
    decoding = systems.Decoding(args.beam, args.length_penalty, args.batch_size)
    if hyp_lines is not None:
        main = systems.System(
            name=args.hyp, kind="hypotheses", path=args.hyp, hyp_file=args.hyp,
            hypotheses=evalset.take(hyp_lines, args.hyp),
        )  # fmt: skip
    else:
        main = systems.from_model(args.model, evalset, decoding)
        if args.hyp_out is not None:  # saved at once: a later failure must not lose it
            write_lines(args.hyp_out, main.hypotheses, force=args.force)
            main.hyp_file = args.hyp_out
    found = [main]
    for target in args.compare or []:
        if target in compare_files:
            found.append(compare_files[target])
        else:
            found.append(systems.from_model(target, evalset, decoding))
    return found


# ----------------------------------------------------------------------------- checks


def _check_mode(args: argparse.Namespace) -> None:
    """Reject option combinations that would be silently ignored or cannot work."""
    if (args.hyp is None) == (args.model is None):
        raise NmtError(
            "give what to score: --hyp FILE (hypotheses) or --model DIR (translate), not both; "
            "or --list-suites"
        )
    models_compared = [t for t in args.compare or [] if Path(t).is_dir()]
    translates = args.model is not None or bool(models_compared)
    for flag, value in (
        ("--beam", args.beam),
        ("--length-penalty", args.length_penalty),
        ("--batch-size", args.batch_size),
    ):
        if value is not None and not translates:
            raise NmtError(
                f"{flag} only applies with --model (or a model directory in --compare); "
                f"with --hyp the hypotheses are read, not translated (drop {flag})"
            )
    if args.hyp_out is not None and args.model is None:
        raise NmtError(
            "--hyp-out only applies with --model; with --hyp the hypotheses are already in a "
            "file (drop --hyp-out)"
        )
    for flag, value in (("--beam", args.beam), ("--batch-size", args.batch_size)):
        if value is not None and value < 1:
            raise NmtError(f"{flag} must be at least 1, got {value}")
    if args.suite is not None:
        for flag, value in (("--src", args.src), ("--ref", args.ref)):
            if value is not None:
                raise NmtError(
                    f"--suite {args.suite} provides the source and references; drop {flag} "
                    "(or drop --suite to use your own files)"
                )
    elif not args.ref:
        raise NmtError("give the references: --ref FILE (repeat for more) or --suite NAME")
    elif args.model is not None and args.src is None:
        raise NmtError("--model needs --src FILE (the source sentences to translate) or --suite")
    if args.model is not None:
        systems.check_model_dir(args.model)
    if args.force and args.hyp_out is None and _report_dir(args) is None:
        raise NmtError("--force only applies with --hyp-out FILE or --report DIR (drop --force)")
    given = [args.hyp or args.model, *(args.compare or [])]
    for index, target in enumerate(given):
        for earlier in given[:index]:
            if Path(target).resolve() == Path(earlier).resolve():
                raise NmtError(
                    f"system {target} is given twice (--compare); compare different systems"
                )
    if args.compare is None and (args.paired_bs or args.paired_ar):
        raise NmtError("--paired-bs / --paired-ar test systems against each other: add --compare")
    for flag, value in (
        ("--worst", args.worst),
        ("--paired-bs-n", args.paired_bs_n),
        ("--paired-ar-n", args.paired_ar_n),
    ):
        if value is not None and value < 1:
            raise NmtError(f"{flag} must be at least 1, got {value}")
    if args.width < 0:
        raise NmtError(f"--width must be 0 or more, got {args.width}")


def _metric_options(args: argparse.Namespace) -> MetricOptions:
    return MetricOptions(
        tokenize=args.tokenize,
        lowercase=args.lowercase,
        smooth_method=args.smooth_method,
        smooth_value=args.smooth_value,
        chrf_char_order=args.chrf_char_order,
        chrf_word_order=args.chrf_word_order,
        chrf_beta=args.chrf_beta,
        chrf_whitespace=args.chrf_whitespace,
        chrf_lowercase=args.chrf_lowercase,
        chrf_eps_smoothing=args.chrf_eps_smoothing,
        ter_case_sensitive=args.ter_case_sensitive,
        ter_asian_support=args.ter_asian_support,
        ter_no_punct=args.ter_no_punct,
        ter_normalized=args.ter_normalized,
    )


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


def _evalset(args: argparse.Namespace) -> testset.EvalSet:
    if args.suite is not None:
        return testset.from_suite(suites.prepare(suites.load(args.suite)), args.limit)
    return testset.from_files(args.src, args.ref, args.limit)


def _report_dir(args: argparse.Namespace) -> Path | None:
    """--report, or next to the model when a model is evaluated on a named suite."""
    if args.report is not None:
        return Path(args.report)
    if args.model is not None and args.suite is not None:
        name = Path(args.suite).stem
        if args.limit is not None:
            name += f"-first{args.limit}"
        return Path(args.model) / "eval" / name
    return None


def _inputs(args: argparse.Namespace, evalset: testset.EvalSet) -> list[Path]:
    paths = [Path(name) for name in evalset.ref_names]
    if evalset.source_name is not None:
        paths.append(Path(evalset.source_name))
    paths += [Path(t) for t in args.compare or [] if not Path(t).is_dir()]
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


# ----------------------------------------------------------------------------- output


def _list_suites(args: argparse.Namespace) -> int:
    found = suites.available()
    if args.json:
        listing = [suites.load(str(path)).as_dict() for path in found.values()]
        print(json.dumps(listing, ensure_ascii=False, indent=2))
        return 0
    print("Test suites (use: nmt evaluate --model DIR --suite NAME):")
    for name, path in found.items():
        suite = suites.load(str(path))
        n_refs = len(suite.references)
        where = f"{suite.corpus or suite.directory}, {n_refs} ref{'s' * (n_refs != 1)}"
        print(f"  {name:<14} {suite.description} [{where}]")
    return 0


def _print(
    args: argparse.Namespace,
    result: dict[str, Any],
    main: systems.System,
    comparison: Any,
    worst: dict[str, Any] | None,
) -> None:
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    for s in main.scores:
        print(s.text)
        print(f"  signature: {s.signature}")
    if comparison is not None:
        print()
        print(format_table(comparison, args.width))
    if worst is not None:
        print()
        print(sentences.format_worst(worst["sentences"], worst["by"], args.width))


def _notes(evalset: testset.EvalSet, report_dir: Path | None) -> None:
    """Facts a reader of the numbers must not miss, on stderr so stdout stays the results."""
    if evalset.n_sentences < evalset.n_total:
        print(
            f"note: scored the first {evalset.n_sentences} of {evalset.n_total} sentences "
            f"(--limit); not comparable with full test-set scores",
            file=sys.stderr,
        )
    if report_dir is not None:
        print(f"report written to {report_dir}", file=sys.stderr)
