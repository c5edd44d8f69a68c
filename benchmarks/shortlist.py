"""Lexical shortlist: how long it takes to learn, and what it does to one-sentence latency.

    python benchmarks/shortlist.py [--sentences 40]

Builds the bundled model's shortlist again from the Bible en-fr training pairs (as ``nmt train``
does at the start of a run), then translates test verses one at a time, as the web UI sends
them, with beam 5 over the whole vocabulary and over the shortlist. One thread. Results go to
benchmarks/results/shortlist-<host>.json. Batch throughput is in speed.py.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from nmt import Translator, shortlist
from nmt.data.corpus import load_splits
from nmt.training.trainer import encode_pairs

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sentences", type=int, default=40)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / f"shortlist-{platform.node()}.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    translator = Translator.load()
    splits = load_splits(translator.config.data)
    pairs = encode_pairs(translator.src_tokenizer, translator.tgt_tokenizer, splits.train.src,
                         splits.train.tgt, translator.config.data.max_length).examples
    start = time.perf_counter()
    shortlist.build(pairs, translator.src_tokenizer.vocab_size, translator.tgt_tokenizer.vocab_size)
    results = {"machine": {"cpu": platform.processor() or platform.machine(), "host": platform.node(),
                           "torch": torch.__version__},
               "build_seconds": time.perf_counter() - start, "training_pairs": len(pairs)}
    verses = splits.test.src[: args.sentences]
    for use in (False, True):
        options = translator.resolve(shortlist=use, beam=5)
        translator.translate(verses[:2], options=options)  # warm-up
        times = []
        for verse in verses:
            start = time.perf_counter()
            translator.translate([verse], options=options)
            times.append(time.perf_counter() - start)
        results["shortlist" if use else "whole_vocabulary"] = {
            "sentences": len(verses), "median_ms": 1000 * statistics.median(times),
            "mean_ms": 1000 * statistics.mean(times)}
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
