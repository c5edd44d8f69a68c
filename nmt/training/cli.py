"""Train a model: ``nmt train --config FILE [--set key=value ...] --out DIR [--max-time SECONDS]``."""

from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", required=True, help="YAML/JSON config (see configs/)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set model.cell=gru (repeatable)")
    p.add_argument("--out", required=True, help="run directory; becomes the model directory")
    p.add_argument("--max-time", type=float, default=None, metavar="SECONDS",
                   help="stop after this many seconds of wall-clock time (and save)")
    p.add_argument("--force", action="store_true", help="overwrite a non-empty run directory")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from nmt import config
    from nmt.training.trainer import train

    cfg = config.load(args.config, args.overrides)
    summary = train(cfg, args.out, max_time=args.max_time, force=args.force, progress=not args.quiet)
    print(json.dumps(summary))
    return 0
