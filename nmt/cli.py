"""The ``nmt`` command: one subcommand per job, each defined in its own module.

A subcommand module offers ``add_arguments(parser)`` and ``run(args) -> int`` and imports its
heavy dependencies (torch, datasets, gradio) only inside ``run``, so ``nmt --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from nmt import __version__
from nmt.errors import NmtError

COMMANDS = {
    "data": ("nmt.data.cli", "prepare corpora (e.g. the Bible en-fr corpus)"),
    "train": ("nmt.training.cli", "train a model from a config"),
    "average": ("nmt.training.average", "average the weights of several checkpoints"),
    "export": ("nmt.export_cli", "copy a model for shipping (optionally fp16)"),
    "translate": ("nmt.translate_cli", "translate text with a trained model"),
    "evaluate": ("nmt.evaluation.cli", "score translations with sacrebleu: BLEU, chrF, chrF++, TER, suites, significance"),
    "ui": ("nmt.ui.cli", "serve the web UI"),
    "plugins": ("nmt.plugins_cli", "list the registered components and their packages"),
    "plugin": ("nmt.plugin_cli", "create a new plugin package from a template"),
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


if __name__ == "__main__":
    sys.exit(main())
