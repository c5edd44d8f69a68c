"""Load test for the web UI: many gradio_client users at once against a real `nmt ui` server.

    python benchmarks/ui_load.py                      # the bundled model
    python benchmarks/ui_load.py --model runs/en-fr   # any model directory

Starts `nmt ui` in its own process on a free local port (so the clients and the server do
not share one interpreter), then runs CLIENTS threads, each with its own gradio_client
session, sending REQUESTS translations one after another. Every answer must equal what the
Translator returns directly for the same settings. Writes latency percentiles, failures and
a description of the machine to benchmarks/results/ui_load.json; exits non-zero if any
request failed. The whole run is bounded by --time-limit.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from serving import cpu_name, free_port, stop, wait_for  # benchmarks/serving.py

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "ui_load.json"

SENTENCES = [
    "In the beginning God created the heaven and the earth.",
    "And God said, Let there be light: and there was light.",
    "The Lord is my shepherd; I shall not want.",
    "Blessed are the meek: for they shall inherit the earth.",
    "And the word was made flesh, and dwelt among us.",
    "Love your enemies, bless them that curse you.",
    "Ask, and it shall be given you; seek, and ye shall find.",
    "For God so loved the world, that he gave his only begotten Son.",
    "Let not your heart be troubled.",
    "I am the way, the truth, and the life.",
    "Come unto me, all ye that labour and are heavy laden.",
    "The light shineth in darkness; and the darkness comprehended it not.",
]


@dataclass
class Tally:
    """What the client threads report; appended under a lock."""

    latencies_s: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, seconds: float) -> None:
        with self.lock:
            self.latencies_s.append(seconds)

    def fail(self, why: str) -> None:
        with self.lock:
            self.failures.append(why)


def _client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False, analytics_enabled=False, download_files=False)


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile: a value that was actually observed."""
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _shown_path(path: Path | None) -> str:
    """Paths inside the repository relative to it, so the committed result reads the same anywhere."""
    if path is None:
        return ""
    try:
        return str(path.resolve().relative_to(HERE.parent))
    except ValueError:
        return str(path)


def _machine() -> dict[str, object]:
    import gradio
    import torch

    cpu = cpu_name()
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "gradio": gradio.__version__,
    }


def _run_client(
    url: str, index: int, requests: int, expected: dict[str, str], beam: int,
    tally: Tally, deadline: float,
) -> None:
    try:
        api = _client(url)
    except Exception as exc:  # noqa: BLE001 - every failure is counted, none may stop the run
        for _ in range(requests):
            tally.fail(f"client {index}: could not connect: {exc}")
        return
    for i in range(requests):
        text = SENTENCES[(index + i) % len(SENTENCES)]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            tally.fail(f"client {index}: not sent, time limit reached")
            continue
        started = time.monotonic()
        job = api.submit(text, beam, 1.0, 1, api_name="/translate")
        try:
            answer = job.result(timeout=remaining)[0]
        except Exception as exc:  # noqa: BLE001
            job.cancel()
            tally.fail(f"client {index} request {i}: {type(exc).__name__}: {exc}")
            continue
        elapsed = time.monotonic() - started
        if answer == expected[text]:
            tally.ok(elapsed)
        else:
            tally.fail(f"client {index} request {i}: wrong answer {answer!r} for {text!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None,
                        help="model directory (default: the bundled model)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=10, help="requests per client")
    parser.add_argument("--beam", type=int, default=None, help="default: the model's own")
    parser.add_argument("--time-limit", type=float, default=600,
                        help="seconds for the whole run, start-up included (default: 600)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.time_limit
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

    from nmt.errors import NmtError
    from nmt.translator import Translator

    try:
        translator = Translator.load(args.model)
    except NmtError as exc:
        print(f"ui_load: error: {exc}", file=sys.stderr)
        return 2
    machine = _machine()  # before the run, so the load average says how busy the box was
    beam = args.beam or translator.config.decoding.beam
    # The reference answers, from the same model outside the server.
    expected = {s: translator.translate([s], beam=beam, length_penalty=1.0)[0] for s in SENTENCES}

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [sys.executable, "-m", "nmt", "ui", "--no-bundled", "--port", str(port),
               "--model", str(translator.model_dir)]
    log = tempfile.TemporaryFile()  # a pipe nobody reads would fill up and stall the server
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    tally = Tally()
    wall = 0.0
    startup_error = None
    try:
        wait_for(url, server, deadline)
        _run_client(url, -1, 1, expected, beam, Tally(), deadline)  # warm-up, not counted
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            for index in range(args.clients):
                pool.submit(_run_client, url, index, args.requests, expected, beam, tally, deadline)
        wall = time.monotonic() - started
    except RuntimeError as exc:
        startup_error = str(exc)
    finally:
        stop(server)
        log.seek(0)
        server_log = log.read().decode("utf-8", "replace")
        log.close()
    if startup_error:
        print(f"ui_load: error: {startup_error}\n{server_log[-2000:]}", file=sys.stderr)
        return 2

    latencies = sorted(tally.latencies_s)
    total = args.clients * args.requests
    result = {
        "benchmark": "ui_load",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {"name": translator.name, "dir": _shown_path(translator.model_dir),
                  "pair": f"{translator.src_lang}-{translator.tgt_lang}",
                  "n_params": translator.n_params},
        "settings": {"clients": args.clients, "requests_per_client": args.requests,
                     "beam": beam, "length_penalty": 1.0, "nbest": 1,
                     "endpoint": "/translate", "server": "nmt ui (separate process)"},
        "requests": total,
        "answered_correctly": len(latencies),
        "failures": len(tally.failures),
        "failure_examples": tally.failures[:10],
        "wall_s": round(wall, 3),
        "throughput_rps": round(len(latencies) / wall, 3) if wall else None,
        "latency_s": {
            "median": round(statistics.median(latencies), 4) if latencies else None,
            "p95": round(_percentile(latencies, 95), 4) if latencies else None,
            "max": round(latencies[-1], 4) if latencies else None,
            "mean": round(statistics.fmean(latencies), 4) if latencies else None,
        },
        "machine": machine,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lat = result["latency_s"]
    print(f"{len(latencies)}/{total} answered correctly in {wall:.1f} s; latency median "
          f"{lat['median']} s, p95 {lat['p95']} s, max {lat['max']} s -> {args.out}")
    for failure in tally.failures[:5]:
        print(f"  failure: {failure}", file=sys.stderr)
    if tally.failures:
        print("server log (end):\n" + server_log[-2000:], file=sys.stderr)
    return 0 if not tally.failures and len(latencies) == total else 1


if __name__ == "__main__":
    sys.exit(main())
