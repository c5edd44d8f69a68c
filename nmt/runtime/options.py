"""Decoding settings for the torch-free runtime: the fields of :class:`nmt.config.DecodingOptions`.

:mod:`nmt.config` needs PyYAML, which the runtime does without, so the runtime carries this
frozen twin: the same field names, defaults and ranges, read from the manifest's ``decoding``
section (written from the model's config at export). A value of either class can be passed
wherever the other is expected (``options=``), since only the fields are read.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from nmt.errors import NmtError

RANGES: dict[str, tuple[float, float]] = {
    "beam": (1, 100), "length_penalty": (0.0, 10.0), "max_length_ratio": (0.0, 100.0),
    "max_length_offset": (1, 100_000), "min_length": (0, 10_000),
    "max_source_length": (1, 100_000), "no_repeat_ngram": (0, 100), "batch_size": (1, 100_000),
    "coverage_penalty": (0.0, 100.0),
}


@dataclass(frozen=True)
class DecodingOptions:
    """How to decode (see :class:`nmt.config.DecodingOptions` for each field). ``quantize``
    records how the export was made; it cannot change at translation time."""

    beam: int = 5
    length_penalty: float = 1.0
    max_length_ratio: float = 2.0
    max_length_offset: int = 10
    min_length: int = 1
    max_source_length: int = 400
    no_repeat_ngram: int = 0
    batch_size: int = 64
    quantize: str = "none"
    shortlist: bool = True
    coverage_penalty: float = 0.0

    @classmethod
    def from_manifest(cls, values: dict[str, Any]) -> DecodingOptions:
        """The export's decoding defaults. A setting this runtime does not know (written by a
        newer nmt) is ignored when it is off (0, false, none) and refused otherwise, since the
        search would then differ from the one the export was made for."""
        known = {f.name for f in fields(cls)}
        for key, value in values.items():
            if key not in known and value not in (None, False, 0, 0.0, "none", ""):
                raise NmtError(f"this export sets decoding.{key}={value!r}, which this nmt's "
                               "runtime does not implement; install the nmt version that "
                               "exported it, or export with that setting off.")
        return cls.build({k: v for k, v in values.items() if k in known})

    @classmethod
    def build(cls, values: dict[str, Any]) -> DecodingOptions:
        """Checked like a config section: unknown keys get the closest name, values their
        type and range."""
        known = {f.name: f for f in fields(cls)}
        kwargs = {}
        for key, value in values.items():
            if key not in known:
                close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.5)
                hint = f" Did you mean 'decoding.{close[0]}'?" if close else ""
                raise NmtError(f"unknown setting 'decoding.{key}'.{hint} Valid: {', '.join(known)}.")
            kwargs[key] = _coerce(key, value, type(known[key].default))
        options = cls(**kwargs)
        for key, (lo, hi) in RANGES.items():
            if not lo <= getattr(options, key) <= hi:
                raise NmtError(f"decoding.{key} is {getattr(options, key)!r}, outside its range "
                               f"[{lo}, {hi}].")
        return options

    @classmethod
    def of(cls, options: Any) -> DecodingOptions:
        """This class's value for ``options`` of either class."""
        if isinstance(options, cls):
            return options
        return cls.build({f.name: getattr(options, f.name) for f in fields(cls)})

    def updated(self, **changes: Any) -> DecodingOptions:
        """A copy with ``changes`` applied and checked; a change of ``None`` keeps the setting."""
        given = {k: v for k, v in changes.items() if v is not None}
        return self.build({**asdict(self), **given}) if given else self


def parse_overrides(items: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``decoding.KEY=VALUE`` strings (the ``--set`` syntax) -> {KEY: value}; values are read as
    JSON (numbers, true/false), else kept as text."""
    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.startswith("decoding."):
            raise NmtError(f"--set {item!r}: an exported model takes only decoding.KEY=VALUE "
                           "settings (the rest was fixed when it was trained).")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        out[key.removeprefix("decoding.")] = value
    return out


def _coerce(key: str, value: Any, kind: type) -> Any:
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind in (bool, str) and isinstance(value, kind):
        return value
    raise NmtError(f"decoding.{key} must be {kind.__name__}, got {value!r}.")
