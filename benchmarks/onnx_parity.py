"""The exported runtime against the torch path: same translations, BLEU, speed, size, memory.

    taskset -c 0 env OMP_NUM_THREADS=1 python benchmarks/onnx_parity.py [--verses 949] \
        [--latency-verses 100] [--throughput-verses 256] [--threads 1] [--suffix HOST]

Four systems side by side, the bundled model at its own settings (beam 5, length penalty 1.4,
per-sentence shortlist): torch fp32, torch int8 (``--quantize int8``: dynamic quantization of
the decoder's linear layers), onnxruntime fp32 and int8 (``nmt export --format onnx
[--quantize int8]``: onnxruntime's dynamic quantization of every graph). For each:

- the 949 Bible en-fr test verses (batch 64): BLEU and chrF with sacrebleu's signature, and the
  share of verses whose output equals torch fp32's (parity: >= 99 % and BLEU within 0.1 for
  onnxruntime fp32; int8 may lose at most 0.5 BLEU);
- single-sentence latency, median and p95, beam 5: one ``translate([verse])`` per call, as the
  UI sends them;
- batch throughput, sentences/s over the first 256 test verses, batch 64, greedy and beam 5;
- size on disk of what ships, and the peak resident memory of the process.

Each system runs in its own process (so peak memory is its own, and the onnxruntime ones never
import torch), with ``--threads`` threads (torch's intra-op threads, onnxruntime's
``intra_op_num_threads``). Times are the process's CPU time (``time.process_time``), not wall
time: on the 2-core VM these were taken on, the pinned core was shared with other jobs, and
CPU time leaves out the time the others ran (with one thread, CPU time equals the wall time an
idle core would give, up to cache effects; the 949-verse run records both). With ``--threads``
above 1 the times are wall time, taken with nothing else running. Results:
benchmarks/results/onnx-<suffix>.json and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYSTEMS = ("torch-fp32", "torch-int8", "onnx-fp32", "onnx-int8")


def timed(fn, *args, **kwargs) -> tuple[object, float]:
    """``fn``'s result and the CPU seconds this process spent on it (see :func:`main`)."""
    start = time.process_time()
    out = fn(*args, **kwargs)
    return out, time.process_time() - start


def wall(fn, *args, **kwargs) -> tuple[object, float]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def peak_rss_mib() -> float:
    """The process's own peak resident memory (VmHWM): ``ru_maxrss`` would report the parent's
    peak in a child started by fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_one(system: str, model: str, job: dict) -> dict:
    """In a child process: load one system, translate, time; returns a JSON-able record.

    With one thread, times are CPU time (see the module); with more, CPU time would add the
    threads up, so times are wall time, and the machine must be quiet."""
    global timed
    threads = job["threads"]
    if threads > 1:
        timed = wall
    if system.startswith("torch"):
        import torch

        from nmt import Translator

        torch.set_num_threads(threads)
        translator = Translator.load(model, quantize="int8" if system.endswith("int8") else None)
    else:
        from nmt.runtime import Translator

        translator = Translator.load(model, threads=threads)
    verses, latency, throughput = job["verses"], job["latency"], job["throughput"]
    translator.translate(verses[:16])  # warm-up: allocations, kernels chosen, caches
    (hyps, seconds), wall_seconds = wall(timed, translator.translate, verses, batch_size=64)
    times = []
    for verse in latency:
        _, t = timed(translator.translate, [verse])
        times.append(t)
    times.sort()
    speed = {}
    for beam in (1, 5):
        _, t = timed(translator.translate, throughput, beam=beam, batch_size=64)
        speed[f"beam{beam}_sent_per_s"] = len(throughput) / t
    return {
        "system": system, "threads": threads, "hyps": hyps,
        "all_verses_cpu_s": seconds, "all_verses_wall_s": wall_seconds,
        "all_verses_sent_per_s": len(verses) / seconds,
        "latency_ms_median": 1000 * statistics.median(times),
        "latency_ms_p95": 1000 * times[int(0.95 * (len(times) - 1))],
        "latency_sentences": len(times),
        "throughput_sentences": len(throughput), **speed,
        "peak_rss_mib": peak_rss_mib(),
        "torch_imported": "torch" in sys.modules,
    }


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def install_sizes(tmp: Path) -> dict:
    """MB on disk of two fresh virtual environments: the torch-free one (onnxruntime, tokenizers,
    numpy, then nmt with --no-deps, as README's "Deploy without torch" says) and the full one
    (``pip install recurrent-nmt``: torch, gradio, datasets and the rest)."""
    import shutil
    import venv

    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".*", "runs", "tests", "benchmarks", "plugins", "docs", "configs", "build", "dist",
        "*.egg-info", "__pycache__"))
    plans = {"runtime": [["-c", str(ROOT / "constraints.txt"), "onnxruntime", "tokenizers", "numpy"],
                         ["--no-deps", str(source)]],
             "full": [["-c", str(ROOT / "constraints.txt"), str(source)]]}
    sizes = {}
    for name, steps in plans.items():
        env_dir = tmp / f"venv-{name}"
        venv.create(env_dir, with_pip=True)
        empty = du_bytes(env_dir)
        for args in steps:
            subprocess.run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", *args],
                           check=True)
        sizes[f"{name}_venv_mb"] = du_bytes(env_dir) / 1e6
        sizes[f"{name}_installed_mb"] = (du_bytes(env_dir) - empty) / 1e6
    sizes["runtime_share_of_full"] = sizes["runtime_venv_mb"] / sizes["full_venv_mb"]
    return sizes


def du_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def table(results: dict) -> str:
    rows = ["| system | BLEU | chrF | same as torch fp32 | latency median / p95 (ms) | "
            "greedy sent/s | beam 5 sent/s | on disk (MB) | peak RSS (MiB) |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in results["systems"]:
        rows.append(f"| {r['system']} | {r['bleu']:.2f} | {r['chrf']:.2f} | "
                    f"{100 * r['same_as_torch_fp32']:.1f} % | {r['latency_ms_median']:.0f} / "
                    f"{r['latency_ms_p95']:.0f} | {r['beam1_sent_per_s']:.1f} | "
                    f"{r['beam5_sent_per_s']:.1f} | {r['disk_bytes'] / 1e6:.1f} | "
                    f"{r['peak_rss_mib']:.0f} |")
    return "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--verses", type=int, default=949)
    p.add_argument("--latency-verses", type=int, default=100)
    p.add_argument("--throughput-verses", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--suffix", default="epyc-avx512-2core")
    p.add_argument("--install-sizes", action="store_true",
                   help="only measure the two environments' sizes and add them to the results file")
    p.add_argument("--child", nargs=3, metavar=("SYSTEM", "MODEL", "JOB"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        system, model, job = args.child
        record = run_one(system, model, json.loads(Path(job).read_text(encoding="utf-8")))
        sys.stdout.write(json.dumps(record, ensure_ascii=False))
        return
    out = ROOT / "benchmarks" / "results" / f"onnx-{args.suffix}.json"
    if args.install_sizes:
        with tempfile.TemporaryDirectory() as tmp:
            sizes = install_sizes(Path(tmp))
        results = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
        results["install_sizes"] = sizes
        out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(json.dumps(sizes, indent=2))
        return

    from nmt.data.corpus import load_splits
    from nmt.evaluation.metrics import score
    from nmt.onnx.export import export_onnx
    from nmt.translator import BUNDLED_MODEL, Translator
    from serving import cpu_name

    import onnxruntime
    import torch

    bundled = Translator.load()
    splits = load_splits(bundled.config.data)
    src, ref = splits.test.src[: args.verses], splits.test.tgt[: args.verses]
    job = {"threads": args.threads, "verses": src, "latency": src[: args.latency_verses],
           "throughput": src[: args.throughput_verses]}
    del bundled
    results: dict = {
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(),
                    "affinity": sorted(os.sched_getaffinity(0)), "torch": torch.__version__,
                    "onnxruntime": onnxruntime.__version__,
                    "cpu_capability": torch.backends.cpu.get_cpu_capability()},
        "model": "bundled bible-en-fr", "test_verses": len(src),
        "settings": "beam 5, length penalty 1.4, shortlist, batch 64", "systems": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        models = {"torch-fp32": BUNDLED_MODEL, "torch-int8": BUNDLED_MODEL}
        for quantize in ("none", "int8"):
            exported = tmp / f"onnx-{quantize}"
            _, seconds = timed(export_onnx, BUNDLED_MODEL, exported, quantize)
            name = "onnx-fp32" if quantize == "none" else "onnx-int8"
            models[name] = exported
            results[f"export_s_{name}"] = seconds
        job_file = tmp / "job.json"
        job_file.write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
        for system in SYSTEMS:
            print(f"running {system} ...", file=sys.stderr, flush=True)
            proc = subprocess.run([sys.executable, __file__, "--child", system, str(models[system]),
                                   str(job_file)], capture_output=True, text=True, check=True)
            record = json.loads(proc.stdout)
            record["disk_bytes"] = dir_bytes(Path(models[system]))
            results["systems"].append(record)
    reference = results["systems"][0]["hyps"]
    for r in results["systems"]:
        bleu, chrf = score(r["hyps"], [ref], ("bleu", "chrf"))
        r.update(bleu=bleu.score, chrf=chrf.score, bleu_signature=bleu.signature,
                 same_as_torch_fp32=sum(a == b for a, b in zip(r["hyps"], reference)) / len(reference))
        r["differing_verses"] = [i for i, (a, b) in enumerate(zip(r["hyps"], reference)) if a != b]
        del r["hyps"]
    by = {r["system"]: r for r in results["systems"]}
    results["parity"] = {
        "onnx_fp32_same_share": by["onnx-fp32"]["same_as_torch_fp32"],
        "onnx_fp32_bleu_delta": by["onnx-fp32"]["bleu"] - by["torch-fp32"]["bleu"],
        "onnx_int8_bleu_loss_vs_onnx_fp32": by["onnx-fp32"]["bleu"] - by["onnx-int8"]["bleu"],
        "onnx_int8_bleu_loss_vs_torch_fp32": by["torch-fp32"]["bleu"] - by["onnx-int8"]["bleu"],
    }
    if out.exists():  # keep sizes measured by an earlier --install-sizes run
        results.setdefault("install_sizes", json.loads(out.read_text(encoding="utf-8")).get("install_sizes"))
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(results))
    print(json.dumps(results["parity"], indent=2))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/serving.py: cpu_name
    main()
