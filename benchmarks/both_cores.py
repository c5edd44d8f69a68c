"""Two cores for one training run: one process with two threads, or two processes (DDP, gloo)?

Trains the reference model (configs/bible-en-fr-reference.yaml) for the same number of updates
of the same global batch three ways and reports target tokens/s of the training loop:

- one process, one thread, two 2,048-token batches per update (``training.accumulate: 2``):
  the baseline;
- one process, two threads (``--threads 2``), the same two batches per update;
- two processes of one thread each, ``torchrun --nproc_per_node 2 -m nmt train``: each rank one
  batch per update, gradients averaged over gloo.

All three see the same batches in the same order (the groups of ``nmt.data.batching.bucket``),
so their target-token totals are equal and only the loop time differs.

    python benchmarks/both_cores.py [--updates 40] [--set training.output_candidates=1000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(name: str, command: list[str], out: Path, env: dict[str, str]) -> dict:
    print(f"{name}: {' '.join(command)}", file=sys.stderr, flush=True)
    subprocess.run(command, check=True, env=env, cwd=ROOT)
    events = [json.loads(line) for line in (out / "metrics.jsonl").open(encoding="utf-8")]
    end = next(e for e in reversed(events) if e["event"] == "end")
    return {"setup": name, "updates": end["steps"], "loop_seconds": end["loop_seconds"],
            "rank0_target_tokens": end["tgt_tokens"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "configs" / "bible-en-fr-reference.yaml"))
    ap.add_argument("--updates", type=int, default=40)
    ap.add_argument("--set", action="append", default=[], dest="overrides")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" /
                                         f"both_cores-{platform.node()}.json"))
    args = ap.parse_args()
    python = sys.executable
    torchrun = str(Path(python).with_name("torchrun"))
    common = ["train", "--config", args.config, "--quiet", "--force",
              "--set", f"training.max_steps={args.updates}", "--set", "data.dev_max_examples=0",
              "--set", f"training.log_every={args.updates}"]
    for item in args.overrides:
        common += ["--set", item]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        setups = [
            ("1 process, 1 thread", [python, "-m", "nmt"], ["--threads", "1"], 2),
            ("1 process, 2 threads", [python, "-m", "nmt"], ["--threads", "2"], 2),
            ("2 processes (torchrun, gloo), 1 thread each",
             [torchrun, "--nproc_per_node", "2", "-m", "nmt"], ["--threads", "1"], 1),
        ]
        for name, launcher, threads, accumulate in setups:
            out = Path(tmp) / "run"
            shutil.rmtree(out, ignore_errors=True)
            command = [*launcher, *common, "--out", str(out), *threads,
                       "--set", f"training.accumulate={accumulate}"]
            env = {**os.environ, "OMP_NUM_THREADS": threads[-1]}
            results.append(run(name, command, out, env))
    total = results[0]["rank0_target_tokens"]  # the same groups of batches in every setup
    for r in results:
        r["target_tokens"] = total
        r["target_tokens_per_s"] = total / r["loop_seconds"]
        r["speedup_over_one_thread"] = results[0]["loop_seconds"] / r["loop_seconds"]
    report = {"host": platform.node(), "config": os.path.relpath(args.config, ROOT),
              "overrides": args.overrides, "results": results}
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print("| setup | updates | loop seconds | target tokens/s | vs one thread |\n|---|---|---|---|---|")
    for r in results:
        print(f"| {r['setup']} | {r['updates']} | {r['loop_seconds']:.1f} | "
              f"{r['target_tokens_per_s']:.0f} | {r['speedup_over_one_thread']:.2f}x |")


if __name__ == "__main__":
    main()
