"""Checking a component class against the plugin contract, and wording what is wrong.

What a component must provide is declared as code in :mod:`nmt.contract` (protocols, value
types) and :mod:`nmt.kinds` (per kind: protocol, constructor, probe). :func:`check` holds a class
to them, in order: it is a class; it declares ``contract`` equal to
:data:`~nmt.contract.CONTRACT_VERSION` (a plugin that has fallen behind fails with a message
instead of deep inside training); it has the protocol's methods and fixed attributes; its
``Options``, if any, are a usable dataclass; its constructor accepts what nmt passes; and a
probe on tiny tensors (:mod:`nmt.probes`, global random state untouched, answer cached) finds
the shapes and behaviour the contract promises.

Every plugin failure, whichever command meets it, is worded by :func:`broken` the same way:
``<kind> plugin '<name>' from <distribution> <version> is broken: <what> — expected X, got Y``.
"""

from __future__ import annotations

import inspect
from typing import Any

from nmt import kinds, options
from nmt.contract import CONTRACT_VERSION, SPECIAL_IDS, methods

# Derived from the table, for code written against the older names.
REQUIRED: dict[str, tuple[str, ...]] = {k.name: methods(k.protocol) for k in kinds.KINDS.values()}
FIXED: dict[str, dict[str, Any]] = {"tokenizers": dict(SPECIAL_IDS)}

def check(kind: str, obj: Any) -> str | None:
    """Why ``obj`` breaks the ``kind`` contract ("cells", "attention", ...: the names of
    :data:`nmt.kinds.KINDS`), or None when it honours it."""
    spec = kinds.kind(kind)
    if not inspect.isclass(obj):
        return f"the entry point must name a class — expected a class, got {obj!r}"
    where = f"{obj.__module__}.{obj.__qualname__}"
    version = getattr(obj, "contract", None)
    if version is None:
        return (f"{where} declares no contract version — expected the class attribute "
                f"`contract = {CONTRACT_VERSION}`, got none")
    if version != CONTRACT_VERSION:
        newer = isinstance(version, int) and version > CONTRACT_VERSION
        return (
            f"{where} was written for plugin contract {version}, "
            f"this nmt implements contract {CONTRACT_VERSION}; "
            + ("upgrade nmt" if newer else "upgrade the plugin to a release for this contract")
        )
    required = methods(spec.protocol)
    missing = [m for m in required if not callable(getattr(obj, m, None))]
    if missing:
        return (f"{where} lacks {', '.join(missing)} — expected the {kind} methods "
                f"{', '.join(required)}, got a class without {', '.join(missing)}")
    wrong = {a: getattr(obj, a, None) for a, v in FIXED.get(kind, {}).items() if getattr(obj, a, None) != v}
    if wrong:
        expected = ", ".join(f"{a} = {v}" for a, v in FIXED[kind].items())
        got = ", ".join(f"{a} = {v!r}" for a, v in wrong.items())
        return f"{where} must set the class attributes {expected} — got {got}"
    fused = getattr(obj, "fused_sequence", None)
    if kind == "cells" and fused is not None and not callable(fused):
        return (f"{where}.fused_sequence must be a classmethod or absent — expected a method, "
                f"got {type(fused).__name__}")
    problem = options.declaration_problem(obj) or _constructor_problem(spec, obj)
    if problem:
        return f"{where}: {problem}"
    return _probed(spec, obj)


def validated(kind: str, name: str, obj: Any, origin: str | None = None) -> Any:
    """Return ``obj`` when it honours the contract; raise the user-facing error otherwise.
    ``origin`` (e.g. "nmt-sru 0.1.0") tells the user which package to fix or replace."""
    from nmt.errors import NmtError

    problem = check(kind, obj)
    if problem:
        raise NmtError(broken(kind, name, origin, problem))
    return obj


def broken(kind: str, name: str, origin: str | None, problem: str) -> str:
    """The one wording of a plugin failure, for every command that meets it."""
    source = f" from {origin}" if origin else ""
    return f"{kind} plugin {name!r}{source} is broken: {problem}"


def import_failure(target: str, distribution: str, exc: BaseException) -> str:
    """The problem part of :func:`broken` for an entry point that does not import."""
    return (f"importing {target} failed — expected it to define the class, got "
            f"{type(exc).__name__}: {exc}. Reinstall or upgrade {distribution}, or choose "
            "another component (see `nmt plugins`)")


def _constructor_problem(spec: kinds.Kind, cls: type) -> str | None:
    """Whether ``cls(...)`` accepts what nmt passes to every component of ``spec``."""
    if spec.constructor is None:
        return None
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # no readable signature (a C type): the probe will tell
        return None
    built = spec.constructor
    params = list(signature.parameters.values())
    var_keyword = any(p.kind is p.VAR_KEYWORD for p in params)
    var_positional = any(p.kind is p.VAR_POSITIONAL for p in params)
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    keywords = list(built.keywords) + (["options"] if options.options_class(cls) else [])
    problems = []
    if len(positional) < len(built.positional) and not var_positional:
        problems.append(f"it takes {len(positional)} positional arguments, nmt passes "
                        f"{len(built.positional)}")
    filled = {p.name for p in positional[: len(built.positional)]} | set(keywords) | set(built.optional)
    taken = {p.name for p in params if p.kind is not p.POSITIONAL_ONLY}
    refused = [k for k in keywords if k not in taken and not var_keyword]
    if refused:
        problems.append(f"it does not take {', '.join(refused)}")
    needed = [p.name for p in params if p.default is p.empty and p.name not in filled
              and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    if needed:
        problems.append(f"it requires {', '.join(needed)}, which nmt never passes (give a default)")
    if not problems:
        return None
    passes = built.describe() + (", options=" if options.options_class(cls) else "")
    return (f"the {spec.role} constructor does not fit what nmt passes — expected "
            f"__init__({passes}), got __init__{signature}: {'; '.join(problems)}")


_verdicts: dict[type, str | None] = {}


def _probed(spec: kinds.Kind, cls: type) -> str | None:
    if spec.probe is None:
        return None
    if cls not in _verdicts:
        import torch

        from nmt import probes

        where = f"{cls.__module__}.{cls.__qualname__}"
        # fork_rng: probing must not shift the random stream that seeds a model's weights.
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            problem = probes.run(spec.probe, cls)
        _verdicts[cls] = (f"{where} failed the {spec.name} probe on tiny tensors: {problem}"
                          if problem else None)
    return _verdicts[cls]
