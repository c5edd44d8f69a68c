"""README's configuration table against the config dataclasses: a key added, renamed or
re-defaulted in code without the table following fails here.

Each section's row lists its keys as `` `key` (default; notes) ``: the text before the first
``;`` in the brackets is the default, read as YAML (``unset`` for None); a key without
brackets has a default that is documented elsewhere in the row or is unset.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from nmt.config import Config

README = Path(__file__).parent.parent / "README.md"
ROW = re.compile(r"^\| `(\w+)` \| (.*) \|$")


def table() -> dict[str, dict[str, str | None]]:
    """{section: {key: default text or None}} from the Configuration table."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Configuration"):]
    section = section[: section.index("\n#", 1)]
    rows: dict[str, dict[str, str | None]] = {}
    for line in section.splitlines():
        match = ROW.match(line)
        if match:
            rows[match[1]] = dict(_items(match[2]))
    return rows


def _items(row: str):
    """Split ``row`` at top-level commas into (key, default text or None)."""
    depth, start = 0, 0
    for i, char in enumerate(row + ","):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            item = row[start:i].strip()
            start = i + 1
            key = re.match(r"`(\w+)`\s*(?:\((.*)\))?$", item)
            assert key, f"README config item {item!r} is not `key` or `key` (default; notes)"
            yield key[1], key[2].split(";")[0].strip() if key[2] else None


SECTIONS = [f.name for f in dataclasses.fields(Config)]


def test_every_section_has_a_row():
    assert list(table()) == SECTIONS


@pytest.mark.parametrize("section", SECTIONS)
def test_the_row_lists_exactly_the_keys_with_their_defaults(section):
    cls = {f.name: f.type for f in dataclasses.fields(Config)}[section]
    cls = getattr(__import__("nmt.config", fromlist=[cls]), cls) if isinstance(cls, str) else cls
    defaults = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
                for f in dataclasses.fields(cls)}
    documented = table()[section]
    assert list(documented) == list(defaults), f"README's {section} row drifted from {cls.__name__}"
    for key, text in documented.items():
        if text is None:
            continue
        shown = None if text == "unset" else yaml.safe_load(text.replace("`", ""))
        assert shown == defaults[key], f"{section}.{key}: README says {text}, the code {defaults[key]!r}"
