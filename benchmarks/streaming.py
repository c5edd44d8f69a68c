"""Live translation on the Bible en-fr test set, source fed word by word: quality against latency.

    python benchmarks/streaming.py --waitk runs/en-fr-waitk --offline runs/en-fr-uni \
        [--verses 949] [--dev-verses 200]
    python benchmarks/streaming.py --verses 949     # re-translation only; wait-k rows kept

Without --waitk and --offline, the wait-k and same-size offline rows are kept from the results
file being replaced, so a new bundled model re-measures re-translation alone.

- wait-k at k = 1, 3, 5, 7, 9 with one multi-k model (configs/bible-en-fr-waitk.yaml), and the
  offline model of the same size (the same config with training.wait_k=0), greedy and beam 5;
- re-translation with the bundled model, its mask k chosen on dev verses (the lowest AL with
  normalized erasure at most 0.2, else the least erasure), then run on the test verses;
- for each: BLEU and chrF (sacrebleu, through nmt.evaluation), AL, LAAL, DAL and AP in source
  words (SimulEval's conventions, nmt.evaluation.latency), normalized erasure in target
  pieces, and the compute time of each update (a push that completes a word), one thread.

Writes benchmarks/results/streaming-<host>.json and streaming-<host>.png (BLEU against AL).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from nmt import Translator
from nmt.data.corpus import load_splits
from nmt.evaluation.latency import (LATENCY_METRICS, SentenceDelays, corpus_latency,
                                    normalized_erasure)
from nmt.evaluation.metrics import score
from nmt.streaming import Stream

ROOT = Path(__file__).resolve().parent.parent
WAIT_K = (1, 3, 5, 7, 9)
MASKS = (4, 8, 12)
ERASURE_GOAL = 0.2


def quality(hyps: list[str], refs: list[str]) -> dict[str, float]:
    bleu, chrf = score(hyps, [refs], ("bleu", "chrf"))
    return {"bleu": bleu.score, "chrf": chrf.score, "bleu_signature": bleu.signature}


def latency(sentences: list[SentenceDelays]) -> dict[str, float]:
    return {name: corpus_latency(name, sentences).score for name in LATENCY_METRICS}


def streamed(translator: Translator, policy: str, k: int, sources: list[str], refs: list[str],
             options=None) -> dict:
    """Feed each source word by word; score the finals and time every update."""
    finals, sentences, erased, lengths, times = [], [], [], [], []
    for source, ref in zip(sources, refs):
        stream = Stream(translator, policy, k, options)
        for word in source.split():
            start = time.perf_counter()
            stream.push(word + " ")
            times.append(time.perf_counter() - start)
        finals.append(stream.finish())
        sentences.append(SentenceDelays(stream.word_delays(), len(source.split()), len(ref.split())))
        erased.append(stream.erased)
        lengths.append(len(stream.final_pieces))
    times.sort()
    return {"policy": policy, "k": k, **quality(finals, refs), **latency(sentences),
            "normalized_erasure": normalized_erasure(erased, lengths),
            "update_ms_median": 1000 * statistics.median(times),
            "update_ms_p95": 1000 * times[int(0.95 * (len(times) - 1))],
            "updates": len(times), "finals": finals}


def offline(translator: Translator, beam: int, sources: list[str], refs: list[str]) -> dict:
    """A whole-sentence system: every target word waits for the whole source."""
    hyps = [translator.translate([s], beam=beam)[0] for s in sources]
    sentences = [SentenceDelays([len(s.split())] * len(h.split()), len(s.split()), len(r.split()))
                 for s, h, r in zip(sources, hyps, refs)]
    return {"policy": "offline", "beam": beam, **quality(hyps, refs), **latency(sentences)}


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    waitk = results["wait_k"]
    ax.plot([r["AL"] for r in waitk], [r["bleu"] for r in waitk], "o-", label="wait-k (one multi-k model)")
    for r in waitk:
        ax.annotate(f"k={r['k']}", (r["AL"], r["bleu"]), textcoords="offset points", xytext=(4, -10))
    for r in results["offline_same_size"]:
        ax.plot(r["AL"], r["bleu"], "s", label=f"offline, same size, beam {r['beam']}")
    rt = results["retranslation"]
    ax.plot(rt["AL"], rt["bleu"], "^", label=f"re-translation, bundled model (mask {rt['k']}, "
            f"erasure {rt['normalized_erasure']:.2f})")
    ax.set_xlabel("AL (source words)")
    ax.set_ylabel("BLEU")
    ax.set_title("Bible en-fr test, source fed word by word")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--waitk", help="a model trained with training.wait_k")
    ap.add_argument("--offline", help="the same config trained with wait_k=0")
    ap.add_argument("--verses", type=int, default=None, help="test verses (default: all)")
    ap.add_argument("--dev-verses", type=int, default=200)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / f"streaming-{platform.node()}"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    bundled = Translator.load()
    splits = load_splits(bundled.config.data)
    test_src, test_ref = splits.test.src[: args.verses], splits.test.tgt[: args.verses]
    dev_src, dev_ref = splits.dev.src[: args.dev_verses], splits.dev.tgt[: args.dev_verses]
    results = {"machine": {"cpu": platform.processor() or platform.machine(), "host": platform.node(),
                           "torch": torch.__version__, "threads": 1},
               "test_verses": len(test_src), "dev_verses": len(dev_src)}

    out = Path(args.out)
    if args.waitk and args.offline:
        waitk, same_size = Translator.load(args.waitk), Translator.load(args.offline)
        results["wait_k"] = []
        for k in WAIT_K:
            r = streamed(waitk, "wait-k", k, test_src, test_ref)
            r.pop("finals")
            results["wait_k"].append(r)
            print(json.dumps(r), flush=True)
        results["offline_same_size"] = [offline(same_size, beam, test_src, test_ref)
                                        for beam in (1, 5)]
        print(json.dumps(results["offline_same_size"]), flush=True)
    else:
        kept = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
        results["wait_k"], results["offline_same_size"] = kept["wait_k"], kept["offline_same_size"]
    results["bundled_model"] = {"name": bundled.name, "step": bundled.meta.get("step"),
                                "weights_sha256": bundled.meta.get("weights_sha256")}

    dev = []
    for k in MASKS:
        r = streamed(bundled, "retranslate", k, dev_src, dev_ref)
        r.pop("finals")
        dev.append(r)
        print("dev", json.dumps(r), flush=True)
    results["retranslation_dev"] = dev
    # The lowest latency within the erasure goal on dev; without one, the least erasure.
    within = [r for r in dev if r["normalized_erasure"] <= ERASURE_GOAL]
    chosen = (min(within, key=lambda r: r["AL"]) if within
              else min(dev, key=lambda r: (r["normalized_erasure"], r["AL"])))["k"]
    rt = streamed(bundled, "retranslate", chosen, test_src, test_ref)
    offline_bundled = [bundled.translate([s])[0] for s in test_src]
    rt["final_equals_offline"] = sum(a == b for a, b in zip(rt.pop("finals"), offline_bundled))
    rt["offline_bleu"] = quality(offline_bundled, test_ref)["bleu"]
    results["retranslation"] = rt
    print(json.dumps(rt), flush=True)

    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    plot(results, out.with_suffix(".png"))


if __name__ == "__main__":
    main()
