"""Score translations with sacrebleu (BLEU, chrF, TER); the numbers equal those of the
sacrebleu command line on the same files. Give hypotheses with --hyp, or a model and a
source file with --model and --src to translate first (and --hyp-out to keep the output).
"""

# Both modes share one reporting path so a score prints the same wherever the hypotheses came
# from. The module docstring above is the `nmt evaluate --help` description.

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from nmt.errors import NmtError
from nmt.evaluation.io import read_lines, write_lines
from nmt.evaluation.metrics import METRICS, Score, check_lengths, score

__all__ = ["HELP", "add_arguments", "run"]

HELP = "score translations against references with sacrebleu (BLEU, chrF, TER)"

DEFAULT_METRICS = ("bleu", "chrf")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options; mode-specific rules are checked in `run` to give NmtError messages."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--hyp", metavar="FILE", help="hypotheses to score, one sentence per line (UTF-8)"
    )
    source.add_argument(
        "--model", metavar="DIR", help="trained model directory: translate --src, then score"
    )
    parser.add_argument(
        "--ref",
        metavar="FILE",
        action="extend",
        nargs="+",
        required=True,
        help="reference translations, line-aligned with the hypotheses; repeat for more",
    )
    parser.add_argument(
        "--metrics",
        nargs="+",
        type=str.lower,
        choices=METRICS,
        default=list(DEFAULT_METRICS),
        metavar="NAME",
        help=f"metrics, from {', '.join(METRICS)} (default: {' '.join(DEFAULT_METRICS)})",
    )
    parser.add_argument("--src", metavar="FILE", help="source sentences to translate (--model)")
    parser.add_argument(
        "--beam",
        type=int,
        default=None,
        metavar="K",
        help="beam size (--model; default: the beam in the model's config)",
    )
    parser.add_argument(
        "--hyp-out", metavar="FILE", help="also save the translations to FILE (--model)"
    )
    parser.add_argument(
        "--force", action="store_true", help="let --hyp-out overwrite an existing file"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    """Score, print the report on stdout, return the exit status (errors raise NmtError)."""
    _check_mode(args)
    ref_names = [str(path) for path in args.ref]
    references = [read_lines(path) for path in args.ref]

    if args.model is not None:
        hypotheses = _translate(args, references, ref_names)
        hyp_name = args.hyp_out if args.hyp_out else f"the translations of {args.src}"
    else:
        hypotheses = read_lines(args.hyp)
        hyp_name = args.hyp

    scores = score(
        hypotheses, references, args.metrics, hyp_name=hyp_name, ref_names=ref_names
    )
    if args.json:
        report = {
            "metrics": [_as_dict(s) for s in scores],
            "n_sentences": len(hypotheses),
            "hyp": args.hyp if args.hyp is not None else args.hyp_out,
            "refs": ref_names,
        }
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for s in scores:
            print(s.text)
            print(f"  signature: {s.signature}")
    return 0


def _check_mode(args: argparse.Namespace) -> None:
    """Reject options that the chosen mode would silently ignore."""
    if args.model is None:
        for flag, value in (
            ("--src", args.src),
            ("--beam", args.beam),
            ("--hyp-out", args.hyp_out),
            ("--force", args.force or None),
        ):
            if value is not None:
                raise NmtError(
                    f"{flag} only applies with --model; with --hyp the hypotheses are read, "
                    f"not translated (drop {flag})"
                )
        return
    if args.src is None:
        raise NmtError("--model needs --src FILE: the source sentences to translate")
    if args.beam is not None and args.beam < 1:
        raise NmtError(f"--beam must be at least 1, got {args.beam}")
    if args.force and args.hyp_out is None:
        raise NmtError("--force only applies with --hyp-out FILE (drop --force)")
    if not Path(args.model).is_dir():
        raise NmtError(
            f"{args.model}: no such model directory; give the folder a training run wrote"
        )


def _translate(
    args: argparse.Namespace, references: list[list[str]], ref_names: list[str]
) -> list[str]:
    """Translate --src, after every cheap check, so a mistake never costs a translation run."""
    sources = read_lines(args.src)
    check_lengths(
        len(sources),
        [len(stream) for stream in references],
        hyp_name=f"source {args.src}",
        ref_names=ref_names,
    )
    if args.hyp_out is not None:
        _check_hyp_out(Path(args.hyp_out), [Path(args.src), *map(Path, args.ref)], args.force)

    from nmt.translator import Translator

    translator = Translator.load(args.model)
    # No --beam: let the model's own decoding config decide, as `nmt translate` does.
    options = {} if args.beam is None else {"beam": args.beam}
    translations = translator.translate(sources, progress=sys.stderr.isatty(), **options)
    if len(translations) != len(sources):
        raise RuntimeError(f"translator returned {len(translations)} lines for {len(sources)}")
    # Clean as read_lines would, so this score equals sacrebleu's on the --hyp-out file.
    hypotheses = [line.rstrip() for line in translations]
    if args.hyp_out is not None:
        write_lines(args.hyp_out, hypotheses, force=args.force)
    return hypotheses


def _check_hyp_out(path: Path, inputs: list[Path], force: bool) -> None:
    if path.exists() and not force:
        raise NmtError(
            f"{path} already exists; choose another file or pass --force to overwrite it"
        )
    for other in inputs:
        if path.exists() and os.path.samefile(path, other):
            raise NmtError(
                f"--hyp-out {path} is the same file as input {other}; "
                "writing the translations there would destroy it: choose another file"
            )


def _as_dict(s: Score) -> dict[str, object]:
    return {"name": s.name, "score": s.score, "signature": s.signature, "text": s.text}
