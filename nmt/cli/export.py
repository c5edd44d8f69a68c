"""``nmt export RUN --out DIR``: a model for shipping.

``--format nmt`` (the default) writes a lean copy of the model directory (config, weights,
tokenizers, shortlist, metadata), optionally with fp16 weights, which halve the size; loading
casts them back to fp32. ``--format onnx`` writes ONNX graphs, tokenizers, shortlist and a
manifest for the torch-free runtime (``nmt translate --model DIR`` and ``nmt.runtime`` read it;
docs/export.md describes it), optionally with ``--quantize int8`` weights.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nmt.errors import NmtError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model or run directory")
    p.add_argument("--out", required=True, help="new model directory")
    p.add_argument("--format", choices=["nmt", "onnx"], default="nmt",
                   help="nmt: a model directory (default); onnx: graphs for the torch-free runtime")
    p.add_argument("--fp16", action="store_true", help="store the weights in half precision (--format nmt)")
    p.add_argument("--quantize", choices=["none", "int8"], default="none",
                   help="int8: onnxruntime's dynamic int8 quantization (--format onnx)")
    p.add_argument("--force", action="store_true", help="overwrite --out")


def run(args: argparse.Namespace) -> int:
    src, out = Path(args.model), Path(args.out)
    if out.resolve() == src.resolve():
        raise NmtError(f"--out {str(out)!r} is the model being exported; choose another directory.")
    if out.exists() and any(out.iterdir()) and not args.force:
        raise NmtError(f"--out {str(out)!r} already holds files; pass --force to overwrite.")
    if args.format == "onnx":
        if args.fp16:
            raise NmtError("--fp16 applies to --format nmt; for a smaller ONNX export use --quantize int8.")
        from nmt.onnx.export import export_onnx

        export_onnx(src, out, args.quantize)
    else:
        if args.quantize != "none":
            raise NmtError("--quantize applies to --format onnx (an nmt model is quantized when "
                           "it is loaded: nmt translate --quantize int8).")
        from nmt.export import export

        export(src, out, args.fp16)
    size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(json.dumps({"out": str(out), "format": args.format, "bytes": size}))
    return 0
