"""Create a plugin package: ``nmt plugin new {cell,attention,tokenizer} NAME [--out DIR]``.

The package is written from a template with a working component, its entry-point table, a
README and tests that pass as generated; ``pip install -e DIR`` makes NAME usable in configs.
See docs/plugins.md for the contract the component must keep.
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    from nmt.scaffold import KINDS  # light: no torch

    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = actions.add_parser(
        "new", help="write a new plugin package from a template",
        description="Write a plugin package (pyproject.toml, README, package, tests) for a new "
                    "cell, attention or tokenizer named NAME.",
    )
    new.add_argument("kind", choices=list(KINDS), help="what the plugin adds")
    new.add_argument("name", help="the name configs will use, e.g. mgu for model.cell=mgu")
    new.add_argument("--out", default=None, metavar="DIR",
                     help="directory to create (default: ./nmt-NAME); must not hold files yet")


def run(args: argparse.Namespace) -> int:
    from nmt.scaffold import create, plugin_names

    names = plugin_names(args.kind, args.name)
    root = create(args.kind, args.name, args.out)
    print(f"created {root}: the {args.kind} {names.name!r} (distribution {names.distribution}, "
          f"package {names.package}, entry point {names.group})")
    print("next:")
    print(f"  pip install -e {root}")
    print(f"  pytest {root}")
    print(f"  nmt train --config CONFIG --out DIR --set {names.config_key}={names.name}")
    return 0
