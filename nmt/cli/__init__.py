"""The ``nmt`` command: one subcommand per job, each a thin module of this package.

A subcommand module (``nmt/cli/NAME.py``) offers ``add_arguments(parser)`` and
``run(args) -> int``: it parses, checks what only a command line can get wrong, and calls a
library function (``nmt.export``, ``nmt.training.average``, ``nmt.evaluation.run``, ...), so
the work stays callable from Python. It imports its heavy dependencies (torch, datasets,
gradio, sacrebleu) only inside ``run``, so ``nmt --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from nmt import __version__
from nmt.errors import NmtError

COMMANDS = {
    "data": ("nmt.cli.data", "prepare corpora (e.g. the Bible en-fr corpus)"),
    "train": ("nmt.cli.train", "train a model from a config"),
    "average": ("nmt.cli.average", "average the weights of several checkpoints"),
    "export": ("nmt.cli.export", "copy a model for shipping (fp16), or export it to ONNX for the torch-free runtime"),
    "translate": ("nmt.cli.translate", "translate text with a trained model"),
    "evaluate": ("nmt.cli.evaluate", "score translations with sacrebleu: BLEU, chrF, chrF++, TER, suites, significance"),
    "ui": ("nmt.cli.ui", "serve the web UI"),
    "serve": ("nmt.cli.serve", "serve an HTTP translation API (LibreTranslate-compatible)"),
    "plugins": ("nmt.cli.plugins", "list the registered components and their packages"),
    "plugin": ("nmt.cli.plugin", "create a new plugin package from a template"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nmt", description="Recurrent neural machine translation: train, translate, evaluate, serve."
    )
    parser.add_argument("--version", action="version", version=f"nmt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=help_text, description=(mod.__doc__ or help_text).strip())
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except NmtError as exc:
        print(f"nmt {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nmt {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `nmt translate ... | head`
        return 0

