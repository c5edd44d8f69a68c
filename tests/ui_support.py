"""Helpers shared by the web UI tests: a served app on a free local port, and its client."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SENTENCE = "In the beginning God created the heaven and the earth."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client(url: str) -> Any:
    from gradio_client import Client

    # analytics_enabled must be passed explicitly: the client ignores the env var when True.
    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


@contextmanager
def serve(model_dirs: Sequence[Path] = (), bundled: bool = False) -> Iterator[tuple[Any, str]]:
    """The app on 127.0.0.1 serving `model_dirs` (first one default), then the bundled model
    if `bundled`; yields (demo, url)."""
    from nmt.ui.app import launch
    from nmt.ui.models import load_catalog

    catalog = load_catalog(list(model_dirs), bundled=bundled)
    port = free_port()
    demo = launch(catalog, host="127.0.0.1", port=port, block=False)
    try:
        yield demo, f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()
