"""Find components through Python entry points, the same way for built-ins and plugins.

Each group (``nmt.cells``, ``nmt.encoders``, ...) is read from ``importlib.metadata`` once.
A component is imported only when it is used, so a plugin that fails to import breaks only
the configs that name it; ``nmt plugins`` reports it as broken together with its error. A name
that two distributions register is refused rather than silently taken from either.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, replace
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from nmt import kinds
from nmt.errors import NmtError
from nmt.kinds import KINDS

# Derived from the one table of kinds (nmt.kinds), for code written against these names.
GROUPS = {k.name: k.group for k in KINDS.values()}
# The role a component plays in a model (as recorded in checkpoints) -> its kind.
ROLES = {k.role: k.name for k in KINDS.values()}


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

    @property
    def origin(self) -> str:
        return f"{self.distribution} {self.version}"

    def load(self) -> Any:
        """The component's class, contract-checked; an error worded by
        :func:`nmt.contracts.broken` when it is claimed twice, does not import or is broken."""
        from nmt.contracts import broken, import_failure, validated

        if self.also_registered_by:
            raise NmtError(broken(self.kind, self.name, self.origin, self.conflict))
        try:
            obj = self.entry_point.load()
        except Exception as exc:  # a broken plugin must not take the CLI down with it
            raise NmtError(broken(self.kind, self.name, self.origin,
                                  import_failure(self.target, self.distribution, exc))) from exc
        return validated(self.kind, self.name, obj, self.origin)

    @property
    def conflict(self) -> str:
        others = ", ".join(self.also_registered_by)
        return (
            f"the name {self.name!r} in {GROUPS[self.kind]} is registered by {self.distribution} "
            f"and by {others}; uninstall all but one of them (pip uninstall ...) — expected one "
            f"distribution per name, got {1 + len(self.also_registered_by)}"
        )

    @property
    def provenance(self) -> dict[str, str]:
        return {"name": self.name, "distribution": self.distribution, "version": self.version}


@functools.cache
def components(kind: str) -> dict[str, Component]:
    """All registered components of one kind, by name."""
    group = kinds.kind(kind).group
    found: dict[str, Component] = {}
    for ep in entry_points(group=group):
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
        f"unknown {kinds.kind(kind).role} {name!r}.{hint} "
        f"Available: {listing}. A plugin package adds more names after `pip install`."
    )


def load(kind: str, name: str) -> Any:
    """Import and return the class registered as ``name`` in ``kind``."""
    return get(kind, name).load()


def describe_all() -> list[dict[str, Any]]:
    """Every component with its origin, whether it loads and its options: the data behind
    `nmt plugins`. A broken one's error is the message using it would raise."""
    from nmt import options

    rows = []
    for kind in GROUPS:
        for comp in components(kind).values():
            row = {"kind": kind, **comp.provenance, "target": comp.target, "status": "ok",
                   "options": []}
            try:
                row["options"] = options.describe(comp.load())
            except NmtError as exc:
                row.update(status="broken", error=str(exc))
            rows.append(row)
    return rows


def contract_problem(kind: str, obj: Any) -> str | None:
    """Why ``obj`` cannot serve as a ``kind`` component, or None when it can."""
    from nmt import contracts

    return contracts.check(kind, obj)
