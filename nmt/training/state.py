"""Resumable training checkpoints: weights, optimizer, schedule, RNG and data position.

Each save is a new directory ``checkpoints/step-N`` written under a temporary name and renamed
when complete; then the one-line pointer ``checkpoints/latest`` is replaced atomically. A kill
at any moment leaves ``latest`` naming a complete checkpoint. Nothing is pickled: tensors go to
safetensors, everything else to JSON.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, load_model, save_file, save_model

from nmt.checkpoint import write_text
from nmt.errors import NmtError

CHECKPOINTS = "checkpoints"


def _split_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, values in sd["state"].items():
        for name, value in values.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{name}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _join_optimizer(tensors: dict[str, torch.Tensor], info: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for key, value in [*tensors.items(), *info["scalars"].items()]:
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": info["param_groups"]}


def save(run: Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
         trainer_state: dict[str, Any], keep: int = 1) -> Path:
    root = run / CHECKPOINTS
    final = root / f"step-{step:09d}"
    partial = root / f".{final.name}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    save_model(model, str(partial / "model.safetensors"))
    tensors, info = _split_optimizer(optimizer)
    save_file(tensors, str(partial / "optimizer.safetensors"))
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng.update({f"cuda{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    save_file(rng, str(partial / "rng.safetensors"))
    py_version, py_state, py_gauss = random.getstate()
    full = {**trainer_state, "step": step, "optimizer": info,
            "python_rng": [py_version, list(py_state), py_gauss]}
    (partial / "state.json").write_text(json.dumps(full), encoding="utf-8")
    if final.exists():
        shutil.rmtree(final)
    partial.rename(final)
    write_text(root / "latest", final.name + "\n")
    for old in sorted(p for p in root.glob("step-*") if p.is_dir())[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def sweep_leftovers(run: Path) -> list[Path]:
    """Remove what a killed save leaves behind: ``checkpoints/.step-N.partial`` directories and
    the ``.NAME.*.tmp`` files of atomic writes (in the run, ``checkpoints/`` and ``best/*``).
    None of them is ever read; the complete files next to them are untouched."""
    found = [*(run / CHECKPOINTS).glob(".step-*.partial")]
    for folder in (run, run / CHECKPOINTS, *(run / "best").glob("step-*")):
        found += [p for p in folder.glob(".*.tmp") if p.is_file()]
    for path in found:
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    return found


def latest(run: Path) -> Path | None:
    pointer = run / CHECKPOINTS / "latest"
    if not pointer.is_file():
        return None
    path = run / CHECKPOINTS / pointer.read_text(encoding="utf-8").strip()
    return path if (path / "state.json").is_file() else None


def restore(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Load weights, optimizer and RNG from ``path``; return the trainer's own state."""
    try:
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        load_model(model, str(path / "model.safetensors"), strict=True)
        optimizer.load_state_dict(_join_optimizer(load_file(str(path / "optimizer.safetensors")),
                                                  state["optimizer"]))
        rng = load_file(str(path / "rng.safetensors"))
    except Exception as exc:
        raise NmtError(f"the training checkpoint {path} cannot be read ({exc}); delete it and "
                       "the 'latest' pointer to fall back to an older one.") from exc
    torch.set_rng_state(rng["torch"])
    cuda = [rng[k] for k in sorted(rng) if k.startswith("cuda")]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    version, py_state, gauss = state["python_rng"]
    random.setstate((version, tuple(py_state), gauss))
    return state
