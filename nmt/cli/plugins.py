"""List every registered component with the distribution and version that supplied it."""

from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from nmt.registry import describe_all

    rows = describe_all()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) if rows else len(k)
              for k in ("kind", "name", "distribution", "version", "status")}
    header = "  ".join(k.upper().ljust(w) for k, w in widths.items())
    print(header)
    for r in rows:
        print("  ".join(r[k].ljust(w) for k, w in widths.items()))
        if r["status"] != "ok":
            print(f"    error: {r['error']}")
    return 0
