"""Where nmt's training update spends its time, by operator, on the reference model.

Profiles real updates of ``nmt.training.trainer.Trainer.update`` (label smoothing, clipping, the
optimizer: everything a training run does per update) with torch.profiler, one thread, and sorts
the operators into the categories of ``profile_ops.py``; ``anchors/profile_onmt.py`` cuts
OpenNMT-py's step the same way, so the two summaries sit side by side (README, "Benchmarks").

    python benchmarks/profile_step.py [--set training.output_candidates=1000] [--updates 10]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from nmt import config
from nmt.data.batching import bucket
from nmt.training.trainer import Trainer, prepare_run_dir

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from profile_ops import summarize, table  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "configs" / "bible-en-fr-reference.yaml"))
    ap.add_argument("--set", action="append", default=[], dest="overrides")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--updates", type=int, default=10)
    ap.add_argument("--out", default=None, help="JSON file for the summary")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = config.load(args.config, ["data.dev_max_examples=0", *args.overrides])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        prepare_run_dir(out, force=True)
        trainer = Trainer(cfg, out, progress=False)
        trainer.setup()
        groups = bucket(trainer.lengths, cfg.training.batch_tokens, cfg.training.seed, 0)
        for group in groups[: args.warmup]:
            trainer.update([group])
        tokens = 0
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for group in groups[args.warmup : args.warmup + args.updates]:
                tokens += trainer.update([group])[1]
    summary = summarize(prof.key_averages(), args.updates, tokens)
    summary.update(toolkit="nmt", overrides=args.overrides, host=platform.node(),
                   torch=torch.__version__)
    print(table("nmt " + " ".join(args.overrides), summary))
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
