"""Dev BLEU against updates and against time for runs trained side by side (one core each).

Reads the ``metrics.jsonl`` of each run directory and writes one JSON summary and one plot with
two panels: dev BLEU per update (does the change learn as well per update?) and dev BLEU per
second (does it learn faster?). Time is the run's own clock from process start, and also without
the evaluations (a run that makes more updates per hour also evaluates more often: ``eval_every``
counts updates).

    python benchmarks/learning_curves.py NAME=RUN_DIR NAME=RUN_DIR [--out benchmarks/results/X]

RUN_DIR may also be a metrics.jsonl file: the bundled recipe's pair is kept in
benchmarks/results/curves/, so its plot can be remade without the runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def curve(run: Path) -> dict:
    metrics = run if run.is_file() else run / "metrics.jsonl"
    events = [json.loads(line) for line in metrics.open(encoding="utf-8")]
    evals, spent = [], 0.0
    for e in events:
        if e["event"] == "eval":
            spent += e.get("eval_seconds", 0.0)
            evals.append({"step": e["step"], "seconds": e["time"],
                          "training_seconds": e["time"] - spent, "dev_bleu": e["dev_bleu"],
                          "dev_loss": e["dev_loss"]})
    trains = [e for e in events if e["event"] == "train"]
    rate = sum(e["tgt_tokens_per_s"] for e in trains) / max(1, len(trains))
    return {"run": str(run), "evals": evals, "mean_target_tokens_per_s": rate}


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def first_reaching(evals: list[dict], bleu: float, key: str) -> float | None:
    return next((e[key] for e in evals if e["dev_bleu"] >= bleu), None)


def compare(base: dict, new: dict) -> dict:
    """``base`` is the run to beat: its best dev BLEU within its budget is the bar."""
    common = sorted({e["step"] for e in base["evals"]} & {e["step"] for e in new["evals"]})
    by_step = [{"step": s,
                "base": next(e["dev_bleu"] for e in base["evals"] if e["step"] == s),
                "new": next(e["dev_bleu"] for e in new["evals"] if e["step"] == s)} for s in common]
    bar = max(e["dev_bleu"] for e in base["evals"])
    bar_seconds = next(e["seconds"] for e in base["evals"] if e["dev_bleu"] == bar)
    reached = first_reaching(new["evals"], bar, "seconds")
    return {
        "equal_updates": by_step,
        "max_abs_gap_at_equal_updates": max((abs(r["new"] - r["base"]) for r in by_step), default=None),
        # one evaluation moves by about half a BLEU point either way: means say more than any one
        "mean_gap_at_equal_updates": mean([r["new"] - r["base"] for r in by_step]),
        "mean_gap_second_half": mean([r["new"] - r["base"] for r in by_step[len(by_step) // 2:]]),
        "last_common_step": by_step[-1] if by_step else None,
        "base_best_dev_bleu": bar, "base_best_at_seconds": bar_seconds,
        "base_last_seconds": base["evals"][-1]["seconds"],
        "new_best_dev_bleu": max(e["dev_bleu"] for e in new["evals"]),
        "new_seconds_to_base_best": reached,
        "time_fraction_to_base_best": None if reached is None else reached / base["evals"][-1]["seconds"],
        "new_training_seconds_to_base_best": first_reaching(new["evals"], bar, "training_seconds"),
        "speedup_tokens_per_s": new["mean_target_tokens_per_s"] / base["mean_target_tokens_per_s"],
    }


def plot(curves: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (by_step, by_time) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, c in curves.items():
        steps = [e["step"] for e in c["evals"]]
        bleu = [e["dev_bleu"] for e in c["evals"]]
        by_step.plot(steps, bleu, "o-", ms=3, label=name)
        by_time.plot([e["seconds"] / 60 for e in c["evals"]], bleu, "o-", ms=3, label=name)
    by_step.set(xlabel="updates", ylabel="dev BLEU (greedy, 500 verses)", title="per update")
    by_time.set(xlabel="minutes since start", title="per minute")
    for ax in (by_step, by_time):
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="NAME=RUN_DIR (or NAME=metrics.jsonl); the first is the one to beat")
    ap.add_argument("--out", required=True, help="path without suffix: writes .json and .png")
    args = ap.parse_args()
    curves = {}
    for item in args.runs:
        name, _, run = item.partition("=")
        curves[name] = curve(Path(run))
    names = list(curves)
    report = {"curves": curves,
              "comparisons": {f"{n} vs {names[0]}": compare(curves[names[0]], curves[n])
                              for n in names[1:]}}
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    plot(curves, out.with_suffix(".png"))
    print(json.dumps(report["comparisons"], indent=2))


if __name__ == "__main__":
    main()
