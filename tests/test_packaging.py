"""The distribution's name: free on PyPI, used wherever pip reads it, one value in the code.

`nmt` on PyPI is an unrelated project, so nmt is distributed as `recurrent-nmt` while the import
package and the command stay `nmt`. A plugin that still asked for `nmt>=0.1` would install that
other project, so every name pip reads is checked against nmt.DISTRIBUTION here.
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import nmt

REPO = Path(__file__).resolve().parents[1]
PLUGINS = sorted(p for p in (REPO / "plugins").iterdir() if (p / "pyproject.toml").is_file())


def project(path: Path) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)["project"]


def test_pyproject_names_the_distribution_the_code_names() -> None:
    meta = project(REPO / "pyproject.toml")
    assert meta["name"] == nmt.DISTRIBUTION != "nmt"
    assert meta["version"] == nmt.__version__
    assert meta["scripts"] == {"nmt": "nmt.cli:main"}


def test_example_plugins_depend_on_the_distribution() -> None:
    assert PLUGINS
    for plugin in PLUGINS:
        deps = project(plugin / "pyproject.toml")["dependencies"]
        assert [d for d in deps if d.startswith(nmt.DISTRIBUTION)], plugin.name
        assert not [d for d in deps if d.split(">")[0].split("=")[0].strip() == "nmt"], plugin.name


def test_the_installed_nmt_package_comes_from_that_distribution_alone() -> None:
    # An environment that still holds the old `nmt` distribution registers every built-in twice.
    # A fresh editable install names its distribution once per file record that maps to `nmt`
    # (the package and the editable finder), so compare the set of names.
    assert set(importlib.metadata.packages_distributions()["nmt"]) == {nmt.DISTRIBUTION}
    assert importlib.metadata.version(nmt.DISTRIBUTION) == nmt.__version__


def test_every_package_in_the_tree_is_in_the_distribution() -> None:
    """setuptools lists the packages explicitly: one left out works in an editable install and
    is missing from `pip install .`, the README's first command (nmt.streaming once was)."""
    with open(REPO / "pyproject.toml", "rb") as f:
        setuptools = tomllib.load(f)["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    where = {name: REPO / path for name, path in setuptools["package-dir"].items()}
    found = set()
    for root, base in [("nmt", REPO / "nmt"), *where.items()]:
        for init in base.rglob("__init__.py"):
            parts = init.parent.relative_to(base).parts
            found.add(".".join((root, *parts)))
    assert found == listed
