"""What the UI benchmarks share: a free local port, and waiting for `nmt ui` to answer."""

from __future__ import annotations

import platform
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, deadline: float) -> None:
    """Return once ``url`` answers; fail if ``proc`` (the server) exits or ``deadline`` passes."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"`nmt ui` exited with {proc.returncode} before serving")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise RuntimeError("`nmt ui` did not start within the time limit")


def stop(server: subprocess.Popen) -> None:
    """Terminate the server, killing it if it has not exited within 15 s."""
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo), for a result file's machine record."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
