"""Component options: a component's own settings, declared by the component, set by a config.

A component class declares its options as a dataclass with a default for every field, named
``Options`` on the class::

    class LocalAttention(nn.Module):
        @dataclass(frozen=True)
        class Options:
            window: int = 10

        def __init__(self, query_size, key_size, options: Options = Options()): ...

A config sets them under the component (``model.attention_options: {window: 5}``). They are
checked with the config's own machinery (unknown keys get the closest name, values their type),
passed to the constructor as ``options=``, and written back resolved (defaults filled in) so a
checkpoint's config records them. Fields may be bool, int, float, str or ``X | None``.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from nmt.errors import NmtError


def options_class(cls: type) -> type | None:
    """The component's ``Options`` dataclass, or None when it takes no options."""
    declared = getattr(cls, "Options", None)
    return declared if isinstance(declared, type) and dataclasses.is_dataclass(declared) else None


def defaults(cls: type) -> Any | None:
    """``Options()`` with every default, or None when the component takes no options."""
    declared = options_class(cls)
    return None if declared is None else declared()


def declaration_problem(cls: type) -> str | None:
    """Why ``cls.Options`` cannot serve as component options, or None (also when absent)."""
    declared = getattr(cls, "Options", None)
    if declared is None:
        return None
    if options_class(cls) is None:
        return f"Options must be a dataclass — expected a @dataclass class, got {declared!r}"
    try:
        typing.get_type_hints(declared)
        declared()
    except Exception as exc:
        return (f"Options must be a dataclass with a default for every field — expected "
                f"Options() to work, got {type(exc).__name__}: {exc}")
    return None


def resolve(cls: type, values: dict[str, Any] | None, key: str, component: str) -> Any | None:
    """Check the config's ``values`` for ``cls`` (at config key ``key``) and return its Options
    instance, or None when ``cls`` declares none (then ``values`` must be empty).
    ``component`` names it in messages, e.g. "attention 'local'"."""
    from nmt.config import _build

    declared = options_class(cls)
    if declared is None:
        if values:
            raise NmtError(f"config key '{key}' sets {', '.join(map(str, values))}, but the "
                           f"{component} takes no options; remove the key.")
        return None
    try:
        return _build(declared, dict(values or {}), f"{key}.")
    except (TypeError, ValueError) as exc:
        raise NmtError(f"config key '{key}' is not valid for the {component}: {exc}") from exc


def as_dict(options: Any | None) -> dict[str, Any]:
    """The resolved options as the plain mapping a config file holds."""
    return {} if options is None else dataclasses.asdict(options)


def describe(cls: type) -> list[dict[str, Any]]:
    """Each option's name, type and default: what `nmt plugins --json` lists."""
    declared = options_class(cls)
    if declared is None:
        return []
    hints = typing.get_type_hints(declared)
    instance = declared()
    return [{"name": f.name, "type": _type_name(hints.get(f.name, f.type)),
             "default": getattr(instance, f.name)} for f in dataclasses.fields(declared)]


def _type_name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")
