"""Find components through Python entry points, the same way for built-ins and plugins.

Each group (``nmt.cells``, ``nmt.encoders``, ...) is read from ``importlib.metadata`` once.
A component is imported only when it is used, so a plugin that fails to import breaks only
the configs that name it; ``nmt plugins`` reports it as broken together with its error. A name
that two distributions register is refused rather than silently taken from either.
"""

from __future__ import annotations

import difflib
import functools
import traceback
from dataclasses import dataclass, replace
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from nmt.errors import NmtError

GROUPS = {
    "cells": "nmt.cells",
    "encoders": "nmt.encoders",
    "decoders": "nmt.decoders",
    "attention": "nmt.attention",
    "tokenizers": "nmt.tokenizers",
}


# The role a component plays in a model (as recorded in checkpoints) -> its group.
ROLES = {"cell": "cells", "encoder": "encoders", "decoder": "decoders",
         "attention": "attention", "tokenizer": "tokenizers"}


@dataclass(frozen=True)
class Component:
    """One registered component: where it comes from and how to load it."""

    kind: str
    name: str
    target: str
    distribution: str
    version: str
    entry_point: EntryPoint
    # Other distributions registering the same name: nmt refuses to pick one silently.
    also_registered_by: tuple[str, ...] = ()

    def load(self) -> Any:
        if self.also_registered_by:
            raise NmtError(self.conflict)
        try:
            obj = self.entry_point.load()
        except Exception as exc:  # a broken plugin must not take the CLI down with it
            raise NmtError(
                f"{self.kind[:-1] if self.kind.endswith('s') else self.kind} {self.name!r} from "
                f"{self.distribution} {self.version} failed to load ({self.target}): "
                f"{type(exc).__name__}: {exc}. Reinstall or upgrade {self.distribution}, "
                f"or choose another component (see `nmt plugins`)."
            ) from exc
        from nmt.contracts import validated

        return validated(self.kind, self.name, obj, f"{self.distribution} {self.version}")

    @property
    def conflict(self) -> str:
        others = ", ".join(self.also_registered_by)
        return (
            f"the name {self.name!r} in {GROUPS[self.kind]} is registered by {self.distribution} "
            f"and by {others}; uninstall all but one of them (pip uninstall ...)"
        )

    @property
    def provenance(self) -> dict[str, str]:
        return {"name": self.name, "distribution": self.distribution, "version": self.version}


@functools.cache
def components(kind: str) -> dict[str, Component]:
    """All registered components of one kind, by name."""
    if kind not in GROUPS:
        raise NmtError(f"unknown component kind {kind!r}; kinds are: {', '.join(GROUPS)}")
    found: dict[str, Component] = {}
    for ep in entry_points(group=GROUPS[kind]):
        dist = getattr(ep, "dist", None)
        comp = Component(
            kind=kind,
            name=ep.name,
            target=ep.value,
            distribution=dist.metadata["Name"] if dist is not None else "unknown",
            version=dist.version if dist is not None else "unknown",
            entry_point=ep,
        )
        first = found.setdefault(ep.name, comp)
        claimed = (first.distribution, *first.also_registered_by)
        if first is not comp and comp.distribution not in claimed:
            found[ep.name] = replace(first, also_registered_by=(*claimed[1:], comp.distribution))
    return dict(sorted(found.items()))


def get(kind: str, name: str) -> Component:
    """The component ``name`` of ``kind``, or an error listing what exists and the closest match."""
    available = components(kind)
    if name in available:
        return available[name]
    names = list(available)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    listing = ", ".join(names) if names else "none (is nmt installed? try `pip install -e .`)"
    raise NmtError(
        f"unknown {kind[:-1] if kind != 'attention' else kind} {name!r}.{hint} "
        f"Available: {listing}. A plugin package adds more names after `pip install`."
    )


def load(kind: str, name: str) -> Any:
    """Import and return the class registered as ``name`` in ``kind``."""
    return get(kind, name).load()


def describe_all() -> list[dict[str, str]]:
    """Every component with its origin and whether it imports: the data behind `nmt plugins`."""
    rows = []
    for kind in GROUPS:
        for comp in components(kind).values():
            row = {"kind": kind, **comp.provenance, "target": comp.target, "status": "ok"}
            if comp.also_registered_by:
                row.update(status="broken", error=comp.conflict)
                rows.append(row)
                continue
            try:
                obj = comp.entry_point.load()
                problem = contract_problem(kind, obj)
                if problem:
                    row.update(status="broken", error=problem)
            except Exception as exc:
                row.update(
                    status="broken",
                    error="".join(traceback.format_exception_only(type(exc), exc)).strip(),
                )
            rows.append(row)
    return rows


def contract_problem(kind: str, obj: Any) -> str | None:
    """Why ``obj`` cannot serve as a ``kind`` component, or None when it can."""
    from nmt import contracts

    return contracts.check(kind, obj)
