"""The two research features of issue 22, measured on Bible en-fr.

    python benchmarks/research.py coverage --runs runs/cov-off runs/cov-on [--verses 500]
    python benchmarks/research.py ensemble --run runs/en-fr-bundle [--verses 949]

coverage: for each run (the bundled recipe with and without coverage attention, trained for the
same number of updates), dev BLEU and chrF at beam 5 with coverage penalty 0 and 0.2, and how
the attention of the chosen translation spreads over the source: per source piece, the
attention mass summed over the target steps. A piece with mass under 0.5 is counted as
*dropped* (barely looked at), one over 1.5 as *repeated* (looked at as if translated twice);
both are shares of all source pieces. One thread.

ensemble: the run's ``best/`` checkpoints (keep_best of them) averaged into one model (``nmt
average``) against the same checkpoints decoded as an ensemble (``nmt translate --model A
--model B ...``), test BLEU and chrF and sentences per second, one thread.

Writes benchmarks/results/research-<kind>-<host>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from nmt import Translator
from nmt.data.corpus import load_splits
from nmt.evaluation.metrics import score

ROOT = Path(__file__).resolve().parent.parent
DROPPED, REPEATED = 0.5, 1.5


def quality(hyps: list[str], refs: list[str]) -> dict:
    bleu, chrf = score(hyps, [refs], ("bleu", "chrf"))
    return {"bleu": round(bleu.score, 2), "chrf": round(chrf.score, 2),
            "bleu_signature": bleu.signature}


def attention_spread(translator: Translator, sources: list[str], options) -> tuple[list[str], dict]:
    """Translations, and the shares of source pieces whose summed attention marks them as
    dropped or repeated."""
    hyps, dropped, repeated, pieces = [], 0, 0, 0
    tok = translator.tgt_tokenizer
    for start in range(0, len(sources), 32):
        chunk = sources[start : start + 32]
        ids = [translator.src_tokenizer.encode(s)[: options.max_source_length] for s in chunk]
        for source_ids, found in zip(ids, translator.search(ids, options, keep_attention=True)):
            best = found[0]
            hyps.append(tok.decode(best.tokens))
            mass = best.attention[:, : len(source_ids)].sum(0)
            dropped += int((mass < DROPPED).sum())
            repeated += int((mass > REPEATED).sum())
            pieces += len(source_ids)
    return hyps, {"dropped_share": round(dropped / pieces, 4),
                  "repeated_share": round(repeated / pieces, 4), "source_pieces": pieces}


def coverage(args) -> dict:
    results = []
    for run in args.runs:
        translator = Translator.load(run)
        splits = load_splits(translator.config.data)
        src, ref = splits.dev.src[: args.verses], splits.dev.tgt[: args.verses]
        meta = translator.meta
        for beta in (0.0, 0.2):
            options = translator.resolve(beam=5, coverage_penalty=beta)
            start = time.perf_counter()
            hyps, spread = attention_spread(translator, src, options)
            row = {"run": str(run), "attention": translator.config.model.attention,
                   "step": meta.get("step"), "coverage_penalty": beta,
                   **quality(hyps, ref), **spread,
                   "sentences_per_s": round(len(src) / (time.perf_counter() - start), 2)}
            print(json.dumps(row), flush=True)
            results.append(row)
    return {"dev_verses": args.verses, "thresholds": {"dropped": DROPPED, "repeated": REPEATED},
            "rows": results}


def ensemble(args) -> dict:
    from nmt.training.average import average, checkpoints

    run = Path(args.run)
    files = checkpoints(run, best=args.best, last=None)
    members = [f.parent for f in files]
    translator = Translator.load(run)
    splits = load_splits(translator.config.data)
    src, ref = splits.test.src[: args.verses], splits.test.tgt[: args.verses]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        averaged = average(run, files, Path(tmp) / "avg")
        systems = [("best single", [run]), (f"average of {len(files)}", [averaged]),
                   (f"ensemble of {len(files)}", members)]
        for name, dirs in systems:
            t = Translator.load(dirs if len(dirs) > 1 else dirs[0])
            start = time.perf_counter()
            hyps = t.translate(src)
            row = {"system": name, "members": [str(d) for d in dirs], **quality(hyps, ref),
                   "sentences_per_s": round(len(src) / (time.perf_counter() - start), 2)}
            print(json.dumps(row), flush=True)
            rows.append(row)
    return {"run": str(run), "test_verses": len(src), "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="kind", required=True)
    c = sub.add_parser("coverage")
    c.add_argument("--runs", nargs="+", required=True)
    c.add_argument("--verses", type=int, default=500)
    e = sub.add_parser("ensemble")
    e.add_argument("--run", required=True)
    e.add_argument("--best", type=int, default=3)
    e.add_argument("--verses", type=int, default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    result = {"machine": {"cpu": platform.processor() or platform.machine(),
                          "host": platform.node(), "torch": torch.__version__, "threads": 1},
              **(coverage(args) if args.kind == "coverage" else ensemble(args))}
    out = Path(args.out or ROOT / "benchmarks" / "results" / f"research-{args.kind}-{platform.node()}.json")
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
