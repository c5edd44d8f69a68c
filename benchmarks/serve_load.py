"""Load benchmark for `nmt serve`: 1, 20 and 100 concurrent clients, with and without dynamic
batching, in one run; every answer checked against the offline translation.

    python benchmarks/serve_load.py                    # bundled model, Bible test verses
    python benchmarks/serve_load.py --server-cpus 0 --client-cpus 1

Each setting starts its own `nmt serve` process (pinned with taskset to --server-cpus, one torch
thread), then for each client count runs that many clients at once, each sending its verses one
after another over one keep-alive connection to LibreTranslate's `POST /translate` (what existing
clients call). The clients are one asyncio loop in this process speaking plain HTTP/1.1 on raw
sockets, pinned to --client-cpus, so that they take as little CPU as possible from the server.
Every answer must equal `Translator.translate` of the same verse (beam 5, the model's settings);
a 503 is counted apart (allowed only when the queue bound says so), anything else is a failure.

Writes benchmarks/results/serve_load-<machine>.json with requests/s, latency median/p95/max,
503s, failures, the server's batch sizes (from its /metrics) and how busy each core was.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

from serving import cpu_name, free_port, stop, wait_for  # benchmarks/serving.py

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "serve_load-epyc-avx512-2core.json"
UI_BASELINE = HERE / "results" / "ui_load.json"


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: a value that was actually observed."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


# -- a minimal HTTP/1.1 client -------------------------------------------------------------------
class Connection:
    """One keep-alive connection; ``post`` returns (status, parsed JSON body)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def post(self, path: str, payload: dict) -> tuple[int, dict]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        body = json.dumps(payload).encode()
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: "
                          f"application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
        data = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, json.loads(data or b"{}")

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def _client(host: str, port: int, verses: list[str], expected: dict[str, str],
                  tally: dict) -> None:
    connection = Connection(host, port)
    try:
        for verse in verses:
            started = time.perf_counter()
            try:
                status, answer = await connection.post(
                    "/translate", {"q": verse, "source": "en", "target": "fr"})
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                tally["failures"].append(f"{type(exc).__name__}: {exc}")
                await connection.close()
                continue
            seconds = time.perf_counter() - started
            if status == 503:
                tally["busy"] += 1
            elif status != 200:
                tally["failures"].append(f"HTTP {status}: {answer}")
            elif answer.get("translatedText") != expected[verse]:
                tally["failures"].append(f"wrong answer for {verse[:40]!r}")
            else:
                tally["latencies"].append(seconds)
    finally:
        await connection.close()


async def _scenario(host: str, port: int, clients: int, per_client: int, verses: list[str],
                    expected: dict[str, str]) -> dict:
    tally: dict = {"latencies": [], "failures": [], "busy": 0}
    work = [[verses[(c * per_client + i) % len(verses)] for i in range(per_client)]
            for c in range(clients)]
    started = time.perf_counter()
    await asyncio.gather(*(_client(host, port, w, expected, tally) for w in work))
    wall = time.perf_counter() - started
    lat = tally["latencies"]
    return {
        "clients": clients, "requests": clients * per_client, "answered_correctly": len(lat),
        "busy_503": tally["busy"], "failures": len(tally["failures"]),
        "failure_examples": tally["failures"][:5], "wall_s": round(wall, 3),
        "throughput_rps": round(len(lat) / wall, 2),
        "latency_s": {"median": round(statistics.median(lat), 4) if lat else None,
                      "p95": round(_percentile(lat, 95), 4) if lat else None,
                      "max": round(max(lat), 4) if lat else None},
    }


# -- measuring the machine -----------------------------------------------------------------------
def _cpu_times() -> dict[str, tuple[int, int]]:
    """(busy, total) jiffies per core from /proc/stat."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if name.startswith("cpu") and name != "cpu":
            values = [int(x) for x in fields]
            idle = values[3] + values[4]
            out[name] = (sum(values) - idle, sum(values))
    return out


def _busy(before: dict, after: dict) -> dict[str, float]:
    return {cpu: round((after[cpu][0] - before[cpu][0]) / max(1, after[cpu][1] - before[cpu][1]), 3)
            for cpu in after}


def _batch_stats(base: str) -> dict:
    """Requests and sentences per batched search, from the server's /metrics."""
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        for name in ("nmt_batch_requests_sum", "nmt_batch_requests_count",
                     "nmt_batch_sentences_sum", "nmt_search_duration_seconds_sum"):
            if line.startswith(name + "{"):
                values[name] = float(line.rsplit(" ", 1)[1])
    count = values.get("nmt_batch_requests_count", 0)
    return {"searches": int(count), "search_s": values.get("nmt_search_duration_seconds_sum", 0.0),
            "mean_requests_per_search": round(values.get("nmt_batch_requests_sum", 0) / count, 2)
            if count else None}


def _other_processes() -> list[str]:
    """The busiest processes at start (`top`), to say what else the machine was doing."""
    try:
        out = subprocess.run(["top", "-bn1", "-o", "%CPU"], capture_output=True, text=True,
                             timeout=10).stdout.splitlines()
    except (OSError, subprocess.TimeoutExpired):
        return []
    start = next((i for i, line in enumerate(out) if line.lstrip().startswith("PID")), None)
    return [" ".join(line.split()) for line in out[start + 1 : start + 4]] if start is not None else []


# -- the run ------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 20, 100])
    parser.add_argument("--requests", type=int, nargs="+", default=[40, 15, 5],
                        help="requests per client, one number per --clients entry")
    parser.add_argument("--verses", type=int, default=300, help="test verses used (default 300)")
    parser.add_argument("--server-cpus", default="0")
    parser.add_argument("--client-cpus", default="1")
    parser.add_argument("--note", default="", help="what else ran on the machine")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if len(args.requests) != len(args.clients):
        parser.error("give one --requests number per --clients entry")

    import torch

    from nmt.data.corpus import resolve_corpus
    from nmt.translator import Translator

    torch.set_num_threads(1)
    os.sched_setaffinity(0, {int(c) for c in args.server_cpus.split(",")})  # references: as the server
    directory, _, _ = resolve_corpus("bible:en-fr")
    verses = (directory / "test.en").read_text(encoding="utf-8").splitlines()[: args.verses]
    translator = Translator.load(args.model)
    started = time.perf_counter()
    offline = translator.translate(verses)
    offline_s = time.perf_counter() - started
    expected = dict(zip(verses, offline))
    os.sched_setaffinity(0, {int(c) for c in args.client_cpus.split(",")})

    machine = {"cpu": cpu_name(), "cpu_count": os.cpu_count(), "platform": platform.platform(),
               "python": platform.python_version(), "torch": torch.__version__,
               "load_average_at_start": os.getloadavg(),
               "busiest_processes_at_start": _other_processes(), "note": args.note}
    runs = []
    for batching in (True, False):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = ["taskset", "-c", args.server_cpus, sys.executable, "-m", "nmt", "serve",
                   "--port", str(port), "--threads", "1", "--log-level", "warning"]
        command += ["--model", str(translator.model_dir), "--no-bundled"] if args.model else []
        command += [] if batching else ["--no-batching"]
        log = tempfile.TemporaryFile()
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                  env={**os.environ, "OMP_NUM_THREADS": "1"})
        try:
            wait_for(base + "/health", server, time.monotonic() + 120)
            asyncio.run(_scenario("127.0.0.1", port, 4, 2, verses, expected))  # warm-up
            for clients, per_client in zip(args.clients, args.requests):
                before_cpu, before = _cpu_times(), _batch_stats(base)
                result = asyncio.run(_scenario("127.0.0.1", port, clients, per_client, verses,
                                               expected))
                after = _batch_stats(base)
                searches = after["searches"] - before["searches"]
                result["batching"] = batching
                result["searches"] = searches
                result["requests_per_search"] = round(result["requests"] / searches, 2) if searches else None
                # The share of the run the model was searching: the rest is HTTP, queueing, idle.
                result["search_share"] = round((after["search_s"] - before["search_s"])
                                               / result["wall_s"], 3)
                result["core_busy"] = _busy(before_cpu, _cpu_times())
                runs.append(result)
                lat = result["latency_s"]
                print(f"batching={batching!s:5} clients={clients:3}: {result['throughput_rps']:6.2f} "
                      f"req/s, median {lat['median']} s, p95 {lat['p95']} s, "
                      f"{result['answered_correctly']}/{result['requests']} correct, "
                      f"{result['busy_503']} x 503, {result['failures']} failures, "
                      f"{result['requests_per_search']} requests/search, searching "
                      f"{result['search_share']:.0%} of the time", flush=True)
        finally:
            stop(server)
            log.seek(0)
            tail = log.read().decode("utf-8", "replace")[-2000:]
            log.close()
        if any(r["failures"] for r in runs):
            print("server log (end):\n" + tail, file=sys.stderr)

    baseline = json.loads(UI_BASELINE.read_text()) if UI_BASELINE.is_file() else None
    result = {
        "benchmark": "serve_load",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {"name": translator.name, "pair": f"{translator.src_lang}-{translator.tgt_lang}",
                  "n_params": translator.n_params},
        "settings": {"endpoint": "POST /translate (LibreTranslate, JSON)", "beam": translator.options.beam,
                     "length_penalty": translator.options.length_penalty,
                     "verses": f"Bible en-fr test set, first {len(verses)}",
                     "server": f"nmt serve, taskset -c {args.server_cpus}, --threads 1, defaults "
                               "(max batch 32, wait 5 ms, queue 256)",
                     "clients": f"one asyncio loop, raw HTTP/1.1 keep-alive, cpus {args.client_cpus}"},
        "offline_translation_s": round(offline_s, 2),
        "ui_baseline": {"clients": baseline["settings"]["clients"],
                        "throughput_rps": baseline["throughput_rps"],
                        "latency_s": baseline["latency_s"]} if baseline else None,
        "runs": runs,
        "machine": machine,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"-> {args.out}")
    return 0 if not any(r["failures"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
