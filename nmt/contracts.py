"""The versioned plugin contract: what each kind of component must provide.

A component class declares ``contract = N`` (the contract version it was written for). nmt
refuses a component written for another major version before any tensor is built, so a plugin
that has fallen behind fails with a message instead of deep inside training.

Cells and attention are also *probed*: built with tiny sizes and run once on tiny tensors (the
global random state is left untouched), so a class whose shapes or state break the contract is
reported by ``nmt plugins`` and refused by ``nmt train`` before a model exists. A cell that offers
``fused_sequence`` must agree with its own single step; the probe holds the two to each other.
The contract is described for plugin authors in docs/plugins.md.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

CONTRACT_VERSION = 1

REQUIRED: dict[str, tuple[str, ...]] = {
    "cells": ("initial_state", "forward"),
    "encoders": ("forward",),
    "decoders": ("initial_state", "memory", "step", "forward"),
    "attention": ("precompute", "forward"),
    "tokenizers": ("train", "load", "save", "encode", "encode_batch", "decode", "pieces"),
}

# Class attributes with fixed values: every model, batch and search relies on these ids.
FIXED: dict[str, dict[str, Any]] = {
    "tokenizers": {"pad_id": 0, "unk_id": 1, "bos_id": 2, "eos_id": 3},
}


def check(kind: str, obj: Any) -> str | None:
    """Why ``obj`` breaks the ``kind`` contract, or None when it honours it."""
    if not inspect.isclass(obj):
        return f"registered object {obj!r} is not a class"
    where = f"{obj.__module__}.{obj.__qualname__}"
    version = getattr(obj, "contract", None)
    if version is None:
        return f"{where} declares no contract version; add `contract = {CONTRACT_VERSION}` to the class"
    if version != CONTRACT_VERSION:
        newer = isinstance(version, int) and version > CONTRACT_VERSION
        return (
            f"{where} was written for plugin contract {version}, "
            f"this nmt implements contract {CONTRACT_VERSION}; "
            + ("upgrade nmt" if newer else "upgrade the plugin to a release for this contract")
        )
    missing = [m for m in REQUIRED[kind] if not callable(getattr(obj, m, None))]
    if missing:
        return f"{where} lacks {', '.join(missing)}"
    wrong = [f"{a} = {v}" for a, v in FIXED.get(kind, {}).items() if getattr(obj, a, None) != v]
    if wrong:
        return f"{where} must set the class attributes {', '.join(wrong)}"
    fused = getattr(obj, "fused_sequence", None)
    if kind == "cells" and fused is not None and not callable(fused):
        return f"{where}.fused_sequence must be a classmethod (or absent)"
    return _probe(kind, obj)


def validated(kind: str, name: str, obj: Any, origin: str | None = None) -> Any:
    """Return ``obj`` when it honours the contract; raise a user-facing error otherwise.
    ``origin`` (e.g. "nmt-sru 0.1.0") tells the user which package to fix or replace."""
    from nmt.errors import NmtError

    problem = check(kind, obj)
    if problem:
        source = f" from {origin}" if origin else ""
        raise NmtError(f"{kind} plugin {name!r}{source} is broken: {problem}")
    return obj


# -- behavioural probes ----------------------------------------------------------------------

_probed: dict[type, str | None] = {}


def _probe(kind: str, cls: type) -> str | None:
    probe = _PROBES.get(kind)
    if probe is None:
        return None
    if cls not in _probed:
        import torch

        where = f"{cls.__module__}.{cls.__qualname__}"
        # fork_rng: probing must not shift the random stream that seeds a model's weights.
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            try:
                problem = probe(cls)
            except Exception as exc:
                problem = f"raised {type(exc).__name__}: {exc}"
        _probed[cls] = f"{where} failed the {kind} probe on tiny tensors: {problem}" if problem else None
    return _probed[cls]


def _shapes(parts: Any) -> str:
    if isinstance(parts, tuple):
        return "(" + ", ".join(_shapes(p) for p in parts) + (",)" if len(parts) == 1 else ")")
    return str(tuple(parts.shape)) if hasattr(parts, "shape") else type(parts).__name__


def _probe_cell(cls: type) -> str | None:
    import torch

    from nmt.recurrent import RecurrentStack

    batch, input_size, hidden = 2, 3, 4
    cell = cls(input_size, hidden)
    state = cell.initial_state(batch, torch.device("cpu"), torch.float32)
    good = (batch, hidden)
    if not (isinstance(state, tuple) and state
            and all(isinstance(s, torch.Tensor) and tuple(s.shape) == good for s in state)):
        return (f"initial_state(batch=2, ...) must return a non-empty tuple of (batch, hidden_size) "
                f"= (2, 4) tensors, got {_shapes(state)}")
    result = cell(torch.randn(batch, input_size), state)
    if not (isinstance(result, tuple) and len(result) == 2):
        return "forward(x, state) must return (output, new_state)"
    out, new = result
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != good:
        return f"forward output must be (batch, hidden_size) = (2, 4), got {_shapes(out)}"
    if not (isinstance(new, tuple) and len(new) == len(state)
            and all(isinstance(s, torch.Tensor) and tuple(s.shape) == good for s in new)):
        return f"forward's new state must match initial_state {_shapes(state)}, got {_shapes(new)}"
    if not callable(getattr(cls, "fused_sequence", None)):
        return None
    stack = RecurrentStack(cls, input_size, hidden, num_layers=2, bidirectional=True).eval()
    x, lengths = torch.randn(batch, 5, input_size), torch.tensor([5, 2])
    fused_out, fused_state = stack(x, lengths)
    stack.use_fused = False
    loop_out, loop_state = stack(x, lengths)
    if fused_out.shape != loop_out.shape or not torch.allclose(fused_out, loop_out, atol=1e-4):
        return "fused_sequence disagrees with the single-step forward on the same weights"
    if len(fused_state) != len(loop_state) or not all(
        a.shape == b.shape and torch.allclose(a, b, atol=1e-4) for a, b in zip(fused_state, loop_state)
    ):
        return "fused_sequence returns a final state that differs from the single-step loop's"
    return None


def _probe_attention(cls: type) -> str | None:
    import torch

    from nmt.errors import NmtError

    batch, src_len, query_size, key_size = 2, 5, 4, 6
    try:
        attention = cls(query_size, key_size)
    except NmtError:  # a deliberate refusal of unequal sizes (as `dot` does)
        query_size = key_size
        attention = cls(query_size, key_size)
    keys = torch.randn(batch, src_len, key_size)
    mask = torch.arange(src_len)[None, :] < torch.tensor([5, 3])[:, None]
    cache = attention.precompute(keys)
    if not isinstance(cache, torch.Tensor) or cache.size(0) != batch:
        return ("precompute(keys) must return one tensor with the batch first (beam search "
                f"reorders its rows), got {_shapes(cache)}")
    result = attention(torch.randn(batch, query_size), keys, cache, mask)
    if not (isinstance(result, tuple) and len(result) == 2):
        return "forward(query, keys, cache, mask) must return (context, weights)"
    context, weights = result
    if tuple(context.shape) != (batch, key_size):
        return f"context must be (batch, key_size) = (2, {key_size}), got {_shapes(context)}"
    if tuple(weights.shape) != (batch, src_len):
        return f"weights must be (batch, src_len) = (2, 5), got {_shapes(weights)}"
    if weights[~mask].abs().max() > 1e-6:
        return "weights must be zero at padded source positions (mask False)"
    return None


_PROBES: dict[str, Callable[[type], str | None]] = {
    "cells": _probe_cell,
    "attention": _probe_attention,
}
