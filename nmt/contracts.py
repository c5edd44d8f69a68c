"""The versioned plugin contract: what each kind of component must provide.

A component class declares ``contract = N`` (the contract version it was written for). nmt
refuses a component written for another major version before any tensor is built, so a plugin
that has fallen behind fails with a message instead of deep inside training.
"""

from __future__ import annotations

import inspect
from typing import Any

CONTRACT_VERSION = 1

REQUIRED: dict[str, tuple[str, ...]] = {
    "cells": ("initial_state", "forward"),
    "encoders": ("forward",),
    "decoders": ("initial_state", "step", "forward"),
    "attention": ("precompute", "forward"),
    "tokenizers": ("train", "load", "save", "encode", "decode", "pieces"),
}


def check(kind: str, obj: Any) -> str | None:
    """Why ``obj`` breaks the ``kind`` contract, or None when it honours it."""
    if not inspect.isclass(obj):
        return f"registered object {obj!r} is not a class"
    version = getattr(obj, "contract", None)
    if version is None:
        return (
            f"{obj.__module__}.{obj.__qualname__} declares no contract version; "
            f"add `contract = {CONTRACT_VERSION}` to the class"
        )
    if version != CONTRACT_VERSION:
        return (
            f"{obj.__module__}.{obj.__qualname__} was written for plugin contract {version}, "
            f"this nmt implements contract {CONTRACT_VERSION}; upgrade the plugin or nmt"
        )
    missing = [m for m in REQUIRED[kind] if not callable(getattr(obj, m, None))]
    if missing:
        return f"{obj.__module__}.{obj.__qualname__} lacks {', '.join(missing)}"
    return None


def validated(kind: str, name: str, obj: Any) -> Any:
    """Return ``obj`` when it honours the contract; raise a user-facing error otherwise."""
    from nmt.errors import NmtError

    problem = check(kind, obj)
    if problem:
        raise NmtError(f"{kind} plugin {name!r} is broken: {problem}")
    return obj
