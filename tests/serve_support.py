"""Helpers shared by the service tests: an app served by uvicorn on a free local port, and a
tiny JSON client over urllib (a real HTTP client, nothing mocked)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ui_support import free_port

DATA = Path(__file__).parent / "data"
VERSES = (DATA / "bible-sample.dev.en").read_text(encoding="utf-8").splitlines()


@contextmanager
def served(app) -> Iterator[str]:
    """``app`` on 127.0.0.1 in a uvicorn thread; yields its base URL (no trailing slash).
    Leaving the block shuts it down the way Ctrl+C does (the app's lifespan ends)."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def call(url: str, body: Any = None, *, method: str | None = None, form: bool = False,
         headers: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, dict, Any]:
    """(status, headers, parsed JSON or text) of one request; errors are answers, not raised."""
    data = None
    headers = dict(headers or {})
    if body is not None:
        if form:
            data = urllib.parse.urlencode(body, doseq=True).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        else:
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, got, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, got, raw = exc.code, dict(exc.headers), exc.read()
    text = raw.decode("utf-8")
    try:
        return status, got, json.loads(text)
    except json.JSONDecodeError:
        return status, got, text


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text, 0 when absent."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            sample, _, value = line.rpartition(" ")
            if all(f'{k}="{v}"' in sample for k, v in labels.items()):
                return float(value)
    return 0.0
