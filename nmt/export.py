"""A lean copy of a model for shipping: only what translation needs, optionally in fp16.

Config, weights, tokenizers, shortlist and metadata; fp16 weights halve the size and loading
casts them back to fp32. A library function so that scripts (and ``nmt export``) share it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["export"]


def export(model_dir: Path, out: Path, fp16: bool = False) -> Path:
    """Write the model in ``model_dir`` (a model or run directory) to ``out``; return ``out``.

    The tokenizers are saved anew rather than copied, so a run's tokenizers ship in their
    compact form, and the weights' hash and nmt version recorded are those of the new files.
    """
    import torch

    from nmt import checkpoint

    loaded = checkpoint.load(model_dir)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_dir / checkpoint.CONFIG, out / checkpoint.CONFIG)
    checkpoint.atomic_write(out / checkpoint.SRC_TOKENIZER, loaded.src_tokenizer.save)
    checkpoint.atomic_write(out / checkpoint.TGT_TOKENIZER, loaded.tgt_tokenizer.save)
    if loaded.shortlist is not None:
        checkpoint.atomic_write(out / checkpoint.SHORTLIST, loaded.shortlist.save)
    stale = ("format_version", "nmt_version", checkpoint.SHA256, checkpoint.SHA256_REPLACING)
    meta = {k: v for k, v in loaded.meta.items() if k not in stale}
    checkpoint.save_weights(out, loaded.model, meta, dtype=torch.float16 if fp16 else None)
    return out
