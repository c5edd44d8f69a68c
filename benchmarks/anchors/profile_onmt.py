#!/usr/bin/env python3
"""Where OpenNMT-py's training update spends its time, cut like nmt's (../profile_step.py).

Run with the anchors' OpenNMT-py venv on a config rendered from ../shared/anchors/onmt_rnn.yaml
(the reference model); it trains through OpenNMT-py's own entry point and profiles updates
``WARMUP+1 .. WARMUP+UPDATES`` with torch.profiler (one thread), then stops the process:

    venv-onmt/bin/python benchmarks/anchors/profile_onmt.py CONFIG OUT_JSON [WARMUP] [UPDATES]
"""
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main():
    cfg_path, out_path = sys.argv[1], sys.argv[2]
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    updates = int(sys.argv[4]) if len(sys.argv) > 4 else 10

    import torch
    from torch.profiler import ProfilerActivity, profile

    import onmt.trainer
    from profile_ops import summarize, table

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    state = {"seen": 0, "tokens": 0, "prof": None}
    original = onmt.trainer.Trainer._accum_batches

    def profiled_batches(self, iterator):
        # Each item is one update's batches; the profiler spans everything between handing out
        # update WARMUP+1 and asking for the one after update WARMUP+UPDATES: forward, backward,
        # clipping and the optimizer step, as OpenNMT-py runs them.
        for item in original(self, iterator):
            if state["seen"] == warmup:
                state["prof"] = profile(activities=[ProfilerActivity.CPU])
                state["prof"].__enter__()
            elif state["seen"] == warmup + updates:
                state["prof"].__exit__(None, None, None)
                summary = summarize(state["prof"].key_averages(), updates, state["tokens"])
                summary.update(toolkit="onmt", torch=torch.__version__)
                print(table("OpenNMT-py", summary), flush=True)
                Path(out_path).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
                os._exit(0)
            if state["seen"] >= warmup:
                batches, normalization = item
                # OpenNMT-py's count leaves out each sentence's end token; nmt's counts it.
                state["tokens"] += normalization + sum(len(b["tgt"]) for b in batches)
            state["seen"] += 1
            yield item

    onmt.trainer.Trainer._accum_batches = profiled_batches
    from onmt.bin.train import main as onmt_main

    sys.argv = ["onmt_train", "-config", cfg_path]
    onmt_main()


if __name__ == "__main__":
    main()
