"""`nmt ui`: serve the translation web app on this machine.

Binds to localhost by default and never creates a public share link: exposing the
app to a network is a deliberate choice made with `--host`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from nmt.errors import NmtError


def _port(value: str) -> int:
    """Reject impossible ports at parse time, with argparse's usage message."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 1 and 65535, got {port}")
    return port


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the `nmt ui` options."""
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        metavar="DIR",
        help="trained model directory (default: the small en->fr model bundled with nmt)",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1; use 0.0.0.0 to allow other machines)",
    )
    parser.add_argument(
        "--port", type=_port, default=7860, help="port to listen on (default: 7860)"
    )


def run(args: argparse.Namespace) -> int:
    """Load the model, then serve until interrupted (Ctrl+C)."""
    # Before gradio is first imported: it reads this at import and Blocks creation.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from nmt.translator import Translator
    from nmt.ui.app import launch

    # An invalid model directory raises NmtError here; the CLI wrapper reports it.
    translator = Translator.load(args.model)
    print(
        f"Loaded {translator.name} ({translator.src_lang}->{translator.tgt_lang}, "
        f"{translator.n_params:,} parameters). Press Ctrl+C to stop.",
        flush=True,
    )
    try:
        launch(translator, host=args.host, port=args.port, block=True)
    except OSError as exc:
        # Typically the port is taken or the address is not one of this machine's.
        raise NmtError(
            f"cannot serve on {args.host}:{args.port} ({exc}). "
            "Choose another port with --port, or check --host."
        ) from exc
    return 0
