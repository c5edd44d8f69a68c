"""``nmt average``: average the weights of several checkpoints of one run into a new model.

Averaging the last or best few checkpoints usually gains a little BLEU for free. The result is
an ordinary model directory (config and tokenizers copied from the run).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nmt.errors import NmtError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help="a training run directory (made by nmt train)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--best", type=int, metavar="N", help="average the N best checkpoints (best/)")
    which.add_argument("--last", type=int, metavar="N", help="average the N latest resumable checkpoints")
    p.add_argument("--out", required=True, help="new model directory")
    p.add_argument("--force", action="store_true", help="overwrite --out")


def run(args: argparse.Namespace) -> int:
    from nmt.training.average import average, checkpoints

    run_dir, out = Path(args.run), Path(args.out)
    if out.exists() and out.resolve() == run_dir.resolve():
        raise NmtError(f"--out {str(out)!r} is the run itself; averaging would replace its best "
                       "model. Name a new directory, e.g. --out RUN-averaged.")
    if out.exists() and any(out.iterdir()) and not args.force:
        raise NmtError(f"--out {str(out)!r} already holds files; pass --force to overwrite.")
    files = checkpoints(run_dir, args.best, args.last)
    average(run_dir, files, out)
    print(f"averaged {len(files)} checkpoints into {out}")
    return 0
