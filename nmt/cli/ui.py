"""`nmt ui`: serve the translation web app on this machine.

With no arguments it serves the model bundled with nmt; --model (repeatable) and
--models-dir add others, all offered in one dropdown, the first one named being the
default. It binds to localhost and never creates a public share link: exposing the app
to a network is a deliberate choice made with `--host`.
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
        action="append",
        default=[],
        metavar="DIR",
        help="also offer this trained model directory (repeatable)",
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="also offer every model directory (one with nmt.json) inside DIR",
    )
    parser.add_argument(
        "--no-bundled",
        dest="bundled",
        action="store_false",
        help="do not offer the small en->fr model bundled with nmt (offered last by default)",
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
    """Load every model, then serve until interrupted (Ctrl+C)."""
    # Before gradio is first imported: it reads this at import and Blocks creation.
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from nmt.ui.app import launch
    from nmt.ui.models import load_catalog

    if not args.bundled and not args.model and args.models_dir is None:
        raise NmtError(
            "--no-bundled leaves no model to serve; add --model DIR or --models-dir DIR."
        )
    # An invalid model directory raises NmtError here; the CLI wrapper reports it.
    catalog = load_catalog(args.model, args.models_dir, bundled=args.bundled)
    try:
        demo = launch(catalog, host=args.host, port=args.port, block=False)
    except OSError as exc:
        # Typically the port is taken or the address is not one of this machine's.
        why = "the port is in use" if "empty port" in str(exc) else str(exc)
        raise NmtError(
            f"cannot serve on {args.host}:{args.port} ({why}). "
            "Choose another port with --port, or check --host."
        ) from exc
    for entry in catalog.entries:
        print(f"Serving {entry.label} ({entry.translator.n_params:,} parameters)", flush=True)
    print(f"Open http://{args.host}:{args.port}/ in a browser. Press Ctrl+C to stop.", flush=True)
    demo.block_thread()  # returns once Ctrl+C has closed the server
    return 0
