"""``nmt export RUN --out DIR``: a lean copy of a model for shipping.

Only what translation needs (config, weights, tokenizers, shortlist, metadata), optionally with
fp16 weights, which halve the size; loading casts them back to fp32.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from nmt.errors import NmtError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model or run directory")
    p.add_argument("--out", required=True, help="new model directory")
    p.add_argument("--fp16", action="store_true", help="store the weights in half precision")
    p.add_argument("--force", action="store_true", help="overwrite --out")


def export(model_dir: Path, out: Path, fp16: bool = False) -> Path:
    import torch

    from nmt import checkpoint

    loaded = checkpoint.load(model_dir)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_dir / checkpoint.CONFIG, out / checkpoint.CONFIG)
    # Saved anew rather than copied, so a run's tokenizers ship in the compact form.
    checkpoint.atomic_write(out / checkpoint.SRC_TOKENIZER, loaded.src_tokenizer.save)
    checkpoint.atomic_write(out / checkpoint.TGT_TOKENIZER, loaded.tgt_tokenizer.save)
    if loaded.shortlist is not None:
        checkpoint.atomic_write(out / checkpoint.SHORTLIST, loaded.shortlist.save)
    # The version and the weights' hash are the new files' own (save_weights records them).
    stale = ("format_version", "nmt_version", checkpoint.SHA256, checkpoint.SHA256_REPLACING)
    meta = {k: v for k, v in loaded.meta.items() if k not in stale}
    checkpoint.save_weights(out, loaded.model, meta, dtype=torch.float16 if fp16 else None)
    return out


def run(args: argparse.Namespace) -> int:
    src, out = Path(args.model), Path(args.out)
    if out.resolve() == src.resolve():
        raise NmtError(f"--out {str(out)!r} is the model being exported; choose another directory.")
    if out.exists() and any(out.iterdir()) and not args.force:
        raise NmtError(f"--out {str(out)!r} already holds files; pass --force to overwrite.")
    export(src, out, args.fp16)
    size = sum(p.stat().st_size for p in out.iterdir())
    print(json.dumps({"out": str(out), "bytes": size}))
    return 0
