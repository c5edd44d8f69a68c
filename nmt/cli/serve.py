"""`nmt serve`: translate over HTTP, speaking the LibreTranslate API and nmt's own.

Serves the bundled model unless told otherwise (--model, repeatable; --models-dir). It binds to
127.0.0.1: exposing it is a deliberate `--host`, best behind a reverse proxy that terminates
TLS. Concurrent requests are batched into one search over one shared model, the queue is
bounded (503 with Retry-After when full), bodies and texts are capped, API keys are optional
(--api-key-file) and CORS is off unless --cors-origin names who may call it from a browser.
--ui mounts the web UI at /ui over the same batcher. See docs/serving.md.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from pathlib import Path

from nmt.cli.ui import _port
from nmt.errors import NmtError


def add_arguments(p: argparse.ArgumentParser) -> None:
    models = p.add_argument_group("models")
    models.add_argument("--model", "-m", type=Path, action="append", default=[], metavar="DIR",
                        help="serve this model directory (repeatable; the first is the default)")
    models.add_argument("--models-dir", type=Path, default=None, metavar="DIR",
                        help="also serve every model directory (one with nmt.json) inside DIR")
    models.add_argument("--no-bundled", dest="bundled", action="store_false",
                        help="do not serve the small en->fr model bundled with nmt")
    net = p.add_argument_group("network")
    net.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    net.add_argument("--port", type=_port, default=5000,
                     help="port (default 5000, LibreTranslate's)")
    net.add_argument("--root-path", default="",
                     help="the path prefix a reverse proxy serves this under, e.g. /translate-api")
    net.add_argument("--forwarded-allow-ips", default="127.0.0.1",
                     help="proxies trusted for X-Forwarded-For/-Proto (default 127.0.0.1)")
    net.add_argument("--ui", action="store_true", help="also serve the web UI at /ui")
    access = p.add_argument_group("access")
    access.add_argument("--api-key-file", type=Path, default=None, metavar="FILE",
                        help="require one of the keys in FILE (one per line) to translate")
    access.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                        help="let web pages from ORIGIN call the API (repeatable; '*' for any)")
    limits = p.add_argument_group("limits and batching")
    limits.add_argument("--max-batch", type=int, default=32,
                        help="sentences in one batched search (default 32)")
    limits.add_argument("--max-wait-ms", type=float, default=5.0,
                        help="how long a request waits for others to batch with (default 5)")
    limits.add_argument("--no-batching", dest="batching", action="store_false",
                        help="search every request alone (for comparison)")
    limits.add_argument("--max-queue", type=int, default=256,
                        help="sentences that may wait; more are refused with 503 (default 256)")
    limits.add_argument("--timeout", type=float, default=30.0,
                        help="seconds one request may take before a 503 (default 30)")
    limits.add_argument("--max-body-bytes", type=int, default=256 * 1024,
                        help="largest request body (default 262144)")
    limits.add_argument("--max-chars", type=int, default=2000,
                        help="largest text, in characters (default 2000)")
    limits.add_argument("--max-texts", type=int, default=64,
                        help="texts in one request (default 64)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the model")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default="info")


def run(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import uvicorn

    from nmt.serve.app import create_app
    from nmt.serve.keys import read_key_file
    from nmt.serve.settings import ServeSettings
    from nmt.ui.models import load_catalog

    if not args.bundled and not args.model and args.models_dir is None:
        raise NmtError("--no-bundled leaves no model to serve; add --model DIR or --models-dir DIR.")
    if args.threads is not None:
        if args.threads < 1:
            raise NmtError("--threads must be at least 1.")
        import torch

        torch.set_num_threads(args.threads)
    keys = read_key_file(args.api_key_file) if args.api_key_file else ()
    settings = ServeSettings(
        max_body_bytes=args.max_body_bytes, max_chars=args.max_chars, max_texts=args.max_texts,
        max_batch=args.max_batch, max_wait_ms=args.max_wait_ms, max_queue=args.max_queue,
        batching=args.batching, timeout_s=args.timeout, api_keys=keys,
        cors_origins=tuple(args.cors_origin), ui=args.ui,
    ).check()
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    catalog = load_catalog(args.model, args.models_dir, bundled=args.bundled)
    app = create_app([e.translator for e in catalog.entries], settings)
    for entry in catalog.entries:
        t = entry.translator
        print(f"Serving {entry.key}: {t.src_lang} -> {t.tgt_lang} ({t.n_params:,} parameters)",
              flush=True)
    if not keys and not _is_loopback(args.host):
        print(f"nmt serve: note: listening on {args.host} without --api-key-file: anyone who "
              "can reach this port can use it.", file=sys.stderr, flush=True)
    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level=args.log_level, access_log=False,
        proxy_headers=True, forwarded_allow_ips=args.forwarded_allow_ips,
        root_path=args.root_path, server_header=False, timeout_graceful_shutdown=int(args.timeout),
    )
    server = uvicorn.Server(config)
    where = f"http://{args.host}:{args.port}"
    print(f"Listening on {where}/ (API docs {where}/docs"
          + (f", web UI {where}/ui/" if args.ui else "") + "). Press Ctrl+C to stop.", flush=True)
    try:
        server.run()
    except SystemExit:  # uvicorn exits when it cannot bind, after logging why
        server.started = False
    except KeyboardInterrupt:
        # uvicorn before 0.55 raises Ctrl+C again once it has shut down; later ones return. A
        # shutdown that completed is a clean stop either way (exit 0, as systemd expects).
        if not server.started:
            raise
    if not server.started:
        raise NmtError(f"cannot serve on {args.host}:{args.port} (see the error above); choose "
                       "another --port, or check --host.")
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
