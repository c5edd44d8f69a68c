"""Write a new plugin package from a template: the quickest correct start for a plugin author.

The generated package is complete: a working component (a real, if simple, model of its kind),
its entry-point table, a README and tests that pass as generated. An author changes the maths
and keeps the tests as a safety net. The templates live in :mod:`nmt.scaffold_templates`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

import nmt
from nmt import kinds
from nmt.contract import CONTRACT_VERSION
from nmt.errors import NmtError

# What the user types (a role with a template in the table of kinds) -> (kind, module name
# inside the package, class suffix).
KINDS: dict[str, tuple[str, str, str]] = {
    k.role: (k.name, k.template, k.template.capitalize())
    for k in kinds.KINDS.values() if k.template is not None
}
NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")


@dataclass(frozen=True)
class PluginNames:
    """Every name a plugin package needs, derived from one component name."""

    kind: str  # cell, attention, tokenizer
    name: str  # the entry-point name users put in a config: model.cell: NAME
    distribution: str  # nmt-NAME, what `pip install` and checkpoints name
    package: str  # nmt_NAME, the import package
    module: str
    class_name: str
    group: str  # the entry-point group, e.g. nmt.cells
    config_key: str  # the config key that names it, e.g. model.cell

    def substitutions(self) -> dict[str, str]:
        major, minor = nmt.__version__.split(".")[:2]
        return {
            "kind": self.kind, "name": self.name, "distribution": self.distribution,
            "package": self.package, "module": self.module, "class_name": self.class_name,
            "group": self.group, "config_key": self.config_key, "contract": str(CONTRACT_VERSION),
            "nmt_requirement": f"{nmt.DISTRIBUTION}>={major}.{minor}",
        }


def plugin_names(kind: str, name: str) -> PluginNames:
    """Validate ``kind`` and ``name`` and derive the distribution, package and class names."""
    if kind not in KINDS:
        raise NmtError(f"unknown plugin kind {kind!r}; choose one of: {', '.join(KINDS)}.")
    if not NAME.fullmatch(name):
        suggestion = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        hint = f" e.g. {suggestion!r}" if suggestion and suggestion[0].isalpha() else ""
        raise NmtError(
            f"plugin name {name!r} is not usable as an entry-point and package name: use lowercase "
            f"letters and digits, starting with a letter, joined by '-' or '_'{hint}."
        )
    if name.startswith("nmt-") or name.startswith("nmt_"):
        raise NmtError(f"give the component name without the 'nmt-' prefix: "
                       f"`nmt plugin new {kind} {name[4:]}` creates the package nmt-{name[4:]}.")
    group, module, suffix = KINDS[kind]
    class_name = "".join(part.capitalize() for part in re.split(r"[-_]", name)) + suffix
    return PluginNames(kind, name, f"nmt-{name}", f"nmt_{name.replace('-', '_')}", module,
                       class_name, kinds.KINDS[group].group, kinds.KINDS[group].config_key)


def create(kind: str, name: str, out: str | Path | None = None) -> Path:
    """Write the plugin package for ``kind`` ``name`` into ``out`` (default ``./nmt-NAME``);
    refuse a name nmt already has and a directory that already holds files."""
    from nmt import registry
    from nmt.scaffold_templates import COMMON, KIND_FILES

    names = plugin_names(kind, name)
    existing = registry.components(KINDS[kind][0]).get(name)
    if existing is not None:
        raise NmtError(
            f"the {kind} name {name!r} is already registered by {existing.distribution}; two "
            "packages with one name make both unusable. Choose another name."
        )
    root = Path(out) if out is not None else Path(names.distribution)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise NmtError(f"{str(root)!r} already exists and is not empty; choose another --out.")
    values = names.substitutions()
    files = {**COMMON, **KIND_FILES[kinds.BY_ROLE[kind].template]}
    for relative, template in files.items():
        path = root / Template(relative).substitute(values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(template).substitute(values), encoding="utf-8")
    return root
