"""Choose decoding settings on the dev set only: beam size and length penalty, per model.

    python benchmarks/tune_decoding.py MODEL_DIR [MODEL_DIR ...] [--corpus bible:en-fr]
        [--settings 1:1.0 5:0.6 5:1.0 5:1.4 10:1.0] [--out benchmarks/results/tuning-dev.json]

Each model (e.g. the best checkpoint and an average of the best few, see ``nmt average``)
translates the whole dev split once per setting (BEAM:LENGTH_PENALTY); BLEU and chrF (sacrebleu defaults, one
reference) go to a JSON file and a Markdown table. The test split is never read here, so the
setting picked from this table can be scored on test once, honestly.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import sacrebleu
import torch

from nmt import Translator
from nmt.data.corpus import resolve_corpus


def setting(text: str) -> tuple[int, float]:
    """``BEAM:LENGTH_PENALTY``, e.g. ``5:1.4``."""
    try:
        beam, alpha = text.split(":")
        return int(beam), float(alpha)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not BEAM:LENGTH_PENALTY, e.g. 5:1.4") from None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    p.add_argument("--corpus", default="bible:en-fr")
    p.add_argument("--settings", nargs="+", type=setting,
                   default=[(1, 1.0), (5, 0.6), (5, 1.0), (5, 1.4), (10, 1.0)],
                   help="BEAM:LENGTH_PENALTY pairs")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--limit", type=int, default=None, help="first N dev sentences only (smoke runs)")
    p.add_argument("--out", default="benchmarks/results/tuning-dev.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    directory, src_lang, tgt_lang = resolve_corpus(args.corpus)
    src = (directory / f"dev.{src_lang}").read_text(encoding="utf-8").splitlines()
    ref = (directory / f"dev.{tgt_lang}").read_text(encoding="utf-8").splitlines()
    src, ref = src[: args.limit], ref[: args.limit]
    rows = []
    for model_dir in args.models:
        translator = Translator.load(model_dir)
        for beam, alpha in args.settings:
            start = time.perf_counter()
            hyp = translator.translate(src, beam=beam, length_penalty=alpha)
            seconds = time.perf_counter() - start
            row = {"model": model_dir, "beam": beam, "length_penalty": alpha,
                   "dev_bleu": round(sacrebleu.corpus_bleu(hyp, [ref]).score, 2),
                   "dev_chrf": round(sacrebleu.corpus_chrf(hyp, [ref]).score, 2),
                   "sentences": len(src), "seconds": round(seconds, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"corpus": args.corpus, "split": "dev", "rows": rows},
                                         indent=2) + "\n", encoding="utf-8")
    print("\n| model | beam | length penalty | dev BLEU | dev chrF |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['beam']} | {r['length_penalty']} | {r['dev_bleu']} | {r['dev_chrf']} |")


if __name__ == "__main__":
    main()
