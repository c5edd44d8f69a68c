"""Train a model: ``nmt train --config FILE [--set key=value ...] --out DIR [--max-time SECONDS]``.

``nmt train --resume DIR`` continues a run exactly where its last checkpoint left it (weights,
optimizer, schedule, random state and position in the data). Under ``torchrun --nproc_per_node
N -m nmt train ...`` the same command trains with N data-parallel processes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nmt.errors import NmtError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML/JSON config (see configs/)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set model.cell=gru (repeatable)")
    p.add_argument("--out", help="run directory; becomes the model directory")
    p.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last checkpoint")
    p.add_argument("--max-time", type=float, default=None, metavar="SECONDS",
                   help="stop after this many seconds of wall-clock time (and save)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (training.threads)")
    p.add_argument("--force", action="store_true", help="start over in a non-empty run directory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from nmt import config
    from nmt.training.trainer import train

    overrides = list(args.overrides)
    if args.threads is not None:
        overrides.append(f"training.threads={args.threads}")
    if args.resume:
        if args.config or args.out:
            raise NmtError("--resume DIR continues a run with its own config; drop --config/--out.")
        cfg = config.load(Path(args.resume) / "config.yaml", overrides)
        out = args.resume
    else:
        if not args.config or not args.out:
            raise NmtError("nmt train needs --config FILE and --out DIR (or --resume DIR).")
        cfg = config.load(args.config, overrides)
        out = args.out
    summary = train(cfg, out, max_time=args.max_time, force=args.force, progress=not args.quiet,
                    resume=bool(args.resume))
    print(json.dumps(summary))
    return 130 if summary["reason"] == "interrupted" else 0
