"""The learning curves of a run as one PNG: training loss and dev scores against steps."""

from __future__ import annotations

import json
from pathlib import Path


def plot_learning_curves(metrics: Path, out: Path) -> Path | None:
    """Draw ``metrics.jsonl`` into ``out``; returns None when there is nothing to draw."""
    records = [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines() if line]
    train = [r for r in records if r.get("event") == "train"]
    evals = [r for r in records if r.get("event") == "eval"]
    if not train and not evals:
        return None
    import matplotlib

    matplotlib.use("Agg")  # files only; never a window
    import matplotlib.pyplot as plt

    fig, left = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        left.plot([r["step"] for r in train], [r["loss"] for r in train], color="tab:blue",
                  label="train loss / token")
    if evals:
        left.plot([r["step"] for r in evals], [r["dev_loss"] for r in evals], "o-", color="tab:cyan",
                  label="dev loss / token")
        right = left.twinx()
        right.plot([r["step"] for r in evals], [r["dev_bleu"] for r in evals], "s-", color="tab:red",
                   label="dev BLEU")
        right.set_ylabel("dev BLEU")
        right.legend(loc="upper right")
    left.set_xlabel("update")
    left.set_ylabel("loss")
    left.legend(loc="upper left")
    left.set_title(out.parent.name)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
