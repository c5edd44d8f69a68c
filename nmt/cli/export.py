"""``nmt export RUN --out DIR``: a lean copy of a model for shipping.

Only what translation needs (config, weights, tokenizers, shortlist, metadata), optionally with
fp16 weights, which halve the size; loading casts them back to fp32.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nmt.errors import NmtError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model or run directory")
    p.add_argument("--out", required=True, help="new model directory")
    p.add_argument("--fp16", action="store_true", help="store the weights in half precision")
    p.add_argument("--force", action="store_true", help="overwrite --out")


def run(args: argparse.Namespace) -> int:
    from nmt.export import export

    src, out = Path(args.model), Path(args.out)
    if out.resolve() == src.resolve():
        raise NmtError(f"--out {str(out)!r} is the model being exported; choose another directory.")
    if out.exists() and any(out.iterdir()) and not args.force:
        raise NmtError(f"--out {str(out)!r} already holds files; pass --force to overwrite.")
    export(src, out, args.fp16)
    size = sum(p.stat().st_size for p in out.iterdir())
    print(json.dumps({"out": str(out), "bytes": size}))
    return 0
