"""Average the weights of several checkpoints of one run into a new model (``nmt average``).

Averaging the last or best few checkpoints usually gains a little BLEU for free. The result is
an ordinary model directory (config and tokenizers copied from the run). The command line
lives in ``nmt.cli.average``; this module is the library it calls.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from nmt.errors import NmtError


def checkpoints(run: Path, best: int | None, last: int | None) -> list[Path]:
    """The weight files to average: the ``last`` latest, or the ``best`` (default 2) best by
    the run's early-stopping metric; NmtError when the run kept fewer."""
    if last:
        found = sorted((run / "checkpoints").glob("step-*/model.safetensors"))[-last:]
        need = last
    else:
        from nmt import config

        need = best or 2
        metric = config.load(run / "config.yaml").training.early_stopping_metric
        scored = []
        for f in (run / "best").glob("step-*/model.safetensors"):
            scores = json.loads((f.parent / "nmt.json").read_text(encoding="utf-8")).get("scores", {})
            value = -scores["dev_loss"] if metric == "loss" else scores[f"dev_{metric}"]
            scored.append((value, f))
        found = [f for _, f in sorted(scored, reverse=True)][:need]  # the N best by the run's metric
    if len(found) < need:
        where = "checkpoints/" if last else "best/"
        raise NmtError(f"{run} has {len(found)} checkpoint(s) in {where}, {need} requested; "
                       "train with a larger training.keep_best (or save_every) to keep more.")
    return found


def average(run: Path, files: list[Path], out: Path) -> Path:
    """Write the mean of ``files``' weights, with the run's config and tokenizers, to ``out``.

    Sums are taken in float64 so that averaging many checkpoints loses no precision.
    """
    import torch
    from safetensors.torch import load_file

    from nmt import checkpoint

    model = checkpoint.load(run).model
    names = {k for k in model.state_dict()}
    total: dict[str, torch.Tensor] = {}
    for f in files:
        for k, v in load_file(str(f)).items():
            total[k] = total.get(k, 0) + v.double()
    state = {k: (v / len(files)).float() for k, v in total.items()}
    model.load_state_dict({k: v for k, v in state.items() if k in names}, strict=False)
    out.mkdir(parents=True, exist_ok=True)
    optional = [checkpoint.SHORTLIST] if (run / checkpoint.SHORTLIST).is_file() else []
    for name in (checkpoint.CONFIG, checkpoint.SRC_TOKENIZER, checkpoint.TGT_TOKENIZER, *optional):
        shutil.copyfile(run / name, out / name)
    meta = json.loads((run / checkpoint.META).read_text(encoding="utf-8"))
    meta.pop("format_version", None)
    meta.pop("nmt_version", None)
    meta.update(name=out.name, averaged=[str(f.parent.relative_to(run)) for f in files])
    meta.pop("scores", None)
    checkpoint.save_weights(out, model, meta)
    return out

