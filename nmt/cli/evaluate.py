"""Score translations with sacrebleu (BLEU, chrF, chrF++, TER); the numbers equal those of the
sacrebleu command line on the same files and options. Give hypotheses with --hyp, or a model
to translate with --model; the test set is --src/--ref files or a named --suite (see
--list-suites), which may hold several test sets, each scored and reported. --compare ranks
more systems with sacrebleu's paired significance tests, --worst N shows the sentences a
system does worst on, and --report DIR writes report.json, report.md, the hypotheses and
per-sentence scores. --streaming translates with --model live, word by word, and adds latency
(AL, LAAL, DAL, AP) and normalized erasure to the scores. --record-scores writes a model's
test scores into its nmt.json.
"""

# The module docstring above is the `nmt evaluate --help` description. This module only parses;
# nmt.evaluation.run checks the request, translates, scores and writes the report.

from __future__ import annotations

import argparse
import json
import sys

from nmt.evaluation.compare import DEFAULT_SAMPLES
from nmt.evaluation.metrics import METRICS, WIDTH, MetricOptions
# Light modules: sacrebleu and torch are imported only when a score or a translation is needed.
from nmt.evaluation.run import DEFAULT_METRICS, Request, evaluate, notes, suite_listing, summary
from nmt.evaluation.systems import Decoding
from nmt.streaming import POLICIES

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options; rules between options are checked in `run` to give NmtError
    messages (argparse's own errors cannot say what to do instead)."""
    system = parser.add_argument_group("what to score (one of)")
    system.add_argument(
        "--hyp", metavar="FILE", help="hypotheses to score, one sentence per line (UTF-8)"
    )
    system.add_argument(
        "--model", metavar="DIR", action="append",
        help="trained model directory: translate the source, then score; repeat it to "
             "translate with an ensemble of models that share their vocabularies",
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
    data.add_argument(
        "--test-set", metavar="NAME", action="extend", nargs="+", dest="test_sets",
        help="only these of the suite's test sets (e.g. web for bible-en-fr); default: all",
    )  # fmt: skip
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
    decoding.add_argument("--quantize", choices=["int8"], default=None,
                          help="int8: dynamic int8 quantization of the model (CPU)")
    decoding.add_argument("--length-penalty", type=float, default=None, metavar="A",
                          help="length penalty alpha (default: the model's config)")
    decoding.add_argument("--batch-size", type=int, default=None, metavar="N",
                          help="sentences per batch (default: the model's config)")

    live = parser.add_argument_group("live translation (with --model)")
    live.add_argument(
        "--streaming", action="store_true",
        help="feed each source sentence word by word through a live stream; score the final "
        "translations and report latency (AL, LAAL, DAL, AP, in source words) and erasure",
    )  # fmt: skip
    live.add_argument("--policy", choices=POLICIES, default=None,
                      help="streaming policy (default: retranslate)")
    live.add_argument("--k", type=int, default=None, metavar="K",
                      help="the policy's k: hidden target pieces for retranslate (default 0), "
                      "lag in source pieces for wait-k (default 3)")

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
        "(default with --model and --suite: reports/MODEL/SUITE in the current directory; "
        "one folder per test set when the suite has several)",
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
    output.add_argument(
        "--record-scores", action="store_true",
        help="with --model and --suite: write each test set's BLEU and chrF (primary reference, "
        "sacrebleu defaults) into the model's nmt.json (`scores`: test_bleu, test_chrf, "
        "SET_test_bleu, ...; signatures under `score_details`), where the web UI shows them",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Score, print the results on stdout, return the exit status (errors raise NmtError)."""
    if args.list_suites:
        print(suite_listing(as_json=args.json))
        return 0
    request = Request(
        hyp=args.hyp, model=args.model[0] if args.model else None,
        ensemble=args.model[1:] if args.model else [], suite=args.suite,
        test_sets=args.test_sets,
        src=args.src, ref=args.ref,
        limit=args.limit, metrics=args.metrics, options=_metric_options(args),
        decoding=Decoding(args.beam, args.length_penalty, args.batch_size, args.quantize),
        compare=args.compare, paired_bs=args.paired_bs, paired_ar=args.paired_ar,
        paired_bs_n=args.paired_bs_n, paired_ar_n=args.paired_ar_n, report=args.report,
        worst=args.worst, width=args.width, hyp_out=args.hyp_out, force=args.force,
        streaming=args.streaming, policy=args.policy, k=args.k,
        record_scores=args.record_scores,
    )  # fmt: skip
    evaluation = evaluate(request)
    if args.json:
        print(json.dumps(evaluation.result, ensure_ascii=False, indent=2))
    else:
        print(summary(evaluation))
    for note in notes(evaluation):  # on stderr, so stdout stays the results
        print(note, file=sys.stderr)
    return 0


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
