"""Speed benchmark: GEMM peak, training tokens/s, decoding sentences/s (fp32 and int8), memory.

    python benchmarks/speed.py [--threads 1 2] [--train-steps 20] [--decode-sentences 256]

Training is measured on the reference model (configs/bible-en-fr-reference.yaml) from random
initial weights on real Bible batches; decoding on the Bible en-fr test set with a trained model
(``--model``, default: the bundled one), over the whole vocabulary and, when the model has one,
over its lexical shortlist (nmt/shortlist.py). The model's FLOPs per target token are computed from
its shapes and set against the machine's measured matrix-multiply peak, which says how much of
the hardware's arithmetic the code turns into translations. Results go to
benchmarks/results/speed-<host>.json and are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path

import torch

from nmt import Translator, config
from nmt.data.batching import bucket, collate
from nmt.data.corpus import load_splits
from nmt.model import build_model
from nmt.training.allocator import keep_freed_memory
from nmt.training.candidates import candidate_cross_entropy, candidate_vocabulary, frequent_targets
from nmt.training.trainer import encode_pairs, fused_optimizer, train_tokenizers

ROOT = Path(__file__).resolve().parent.parent


def gemm_peak(dtype: torch.dtype, seconds: float = 2.0) -> float:
    """GFLOP/s of a large square-ish matrix product: the machine's practical ceiling."""
    a = torch.randn(2048, 512, dtype=dtype)
    b = torch.randn(512, 2048, dtype=dtype)
    a @ b
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        n += 1
    return 2 * 2048 * 512 * 2048 * n / (time.perf_counter() - start) / 1e9


def flops_per_target_token(m: config.ModelConfig, output_rows: float, src_per_tgt: float) -> float:
    """Training FLOPs (forward + backward = 3 x forward) per target token, from the shapes.

    ``output_rows``: the rows of the output layer each token is scored against: the whole
    vocabulary, or the mean size of a batch's candidate set (``training.output_candidates``).
    """
    gates = {"lstm": 4, "gru": 3}.get(m.cell, 1)
    e, h, d = m.embedding_size, m.encoder_hidden_size, m.decoder_hidden_size
    dirs = 2 if m.bidirectional else 1
    enc = 0.0
    for layer in range(m.encoder_layers):
        inp = e if layer == 0 else h * dirs
        enc += dirs * gates * h * (inp + h)
    enc_out = h * dirs
    dec_in = e + (d if m.input_feeding else 0)
    dec = sum(gates * d * ((dec_in if i == 0 else d) + d) for i in range(m.decoder_layers))
    attention = enc_out * d * src_per_tgt if m.attention != "dot" else 0  # keys projected once
    combine = (d + enc_out) * d
    output = d * output_rows
    forward_macs = enc * src_per_tgt + dec + attention + combine + output
    return 3 * 2 * forward_macs


def measure_training(cfg: config.Config, examples, src_tok, tgt_tok, steps: int,
                     candidates: int = 0, negatives: int = 0) -> dict:
    """Updates as the trainer makes them (fused Adam, clipping); ``candidates`` > 0 scores each
    batch against its own target pieces plus that many frequent ones and ``negatives`` sampled
    ones (Jean et al. 2015; nmt.training.candidates)."""
    torch.manual_seed(0)
    model, _ = build_model(cfg.model, src_tok.vocab_size, tgt_tok.vocab_size)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.training.learning_rate,
                           **fused_optimizer(torch.device("cpu")))
    lengths = [(len(s), len(t)) for s, t in examples]
    groups = bucket(lengths, cfg.training.batch_tokens, seed=0, epoch=0)
    frequent = frequent_targets(examples, tgt_tok.vocab_size, tgt_tok.eos_id, candidates)
    tokens, elapsed, rows = 0, 0.0, []
    for i, group in enumerate(groups[: steps + 2]):
        batch = collate([examples[j] for j in group], 0, 2, 3)
        start = time.perf_counter()
        if candidates:
            sample = candidate_vocabulary(batch.tgt_out, frequent, 0, tgt_tok.vocab_size, negatives)
            logits = model(batch.src, batch.src_lengths, batch.tgt_in, vocab=sample.vocab)
            loss = candidate_cross_entropy(logits, sample, 0.0, tgt_tok.vocab_size)
        else:
            logits = model(batch.src, batch.src_lengths, batch.tgt_in)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)),
                                                     batch.tgt_out.reshape(-1), ignore_index=0,
                                                     reduction="sum")
        opt.zero_grad()
        (loss / batch.n_tokens).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if i >= 2:  # the first steps warm up allocators and kernels
            elapsed += time.perf_counter() - start
            tokens += batch.n_tokens
            rows.append(logits.size(-1))
    return {"steps": steps, "output_candidates": candidates, "output_negatives": negatives,
            "target_tokens": tokens,
            "seconds": elapsed, "target_tokens_per_s": tokens / elapsed,
            "mean_output_rows": sum(rows) / len(rows)}


def measure_decoding(translator: Translator, sentences: list[str], beam: int) -> dict:
    translator.translate(sentences[:8], beam=beam, batch_size=64)  # warm-up
    start = time.perf_counter()
    out = translator.translate(sentences, beam=beam, batch_size=64)
    seconds = time.perf_counter() - start
    return {"sentences": len(sentences), "seconds": seconds, "sentences_per_s": len(sentences) / seconds,
            "output_words": sum(len(o.split()) for o in out)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, torch.get_num_threads()])
    ap.add_argument("--train-steps", type=int, default=20)
    ap.add_argument("--output-candidates", type=int, nargs="*", default=[1000],
                    help="also train with these training.output_candidates (0 alone: skip)")
    ap.add_argument("--output-negatives", type=int, nargs="+", default=[0, 2000],
                    help="training.output_negatives for the runs with candidates (each value)")
    ap.add_argument("--decode-sentences", type=int, default=256)
    ap.add_argument("--no-decoding", action="store_true", help="training measurements only")
    ap.add_argument("--model", default=None, help="trained model for decoding (default: bundled)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / f"speed-{platform.node()}.json"))
    args = ap.parse_args()
    keep_freed_memory()  # as nmt train does on CPU (nmt/training/allocator.py)

    cfg = config.load(ROOT / "configs" / "bible-en-fr-reference.yaml")
    splits = load_splits(cfg.data)
    src_tok, tgt_tok = train_tokenizers(cfg, splits.train.src[:8000], splits.train.tgt[:8000])
    examples = encode_pairs(src_tok, tgt_tok, splits.train.src[:4000], splits.train.tgt[:4000],
                            cfg.data.max_length).examples
    src_per_tgt = sum(len(s) for s, _ in examples) / sum(len(t) + 1 for _, t in examples)
    flops = flops_per_target_token(cfg.model, tgt_tok.vocab_size, src_per_tgt)
    test = splits.test.src[: args.decode_sentences]

    results = {"machine": {"cpu": platform.processor() or platform.machine(), "host": platform.node(),
                           "cores": torch.get_num_threads(), "torch": torch.__version__,
                           "cpu_capability": torch.backends.cpu.get_cpu_capability()},
               "reference_model": {"training_flops_per_target_token": flops,
                                   "source_tokens_per_target_token": src_per_tgt},
               "runs": []}
    for threads in args.threads:
        torch.set_num_threads(threads)
        run = {"threads": threads,
               "gemm_gflops_fp32": gemm_peak(torch.float32),
               "gemm_gflops_bf16": gemm_peak(torch.bfloat16)}
        outputs = [(0, 0)] + [(c, n) for c in args.output_candidates if c > 0
                              for n in args.output_negatives]
        for candidates, negatives in outputs:
            key = ("training" if not candidates else f"training_candidates_{candidates}"
                   + (f"_negatives_{negatives}" if negatives else ""))
            t = run[key] = measure_training(cfg, examples, src_tok, tgt_tok, args.train_steps,
                                            candidates, negatives)
            t["flops_per_target_token"] = flops_per_target_token(cfg.model, t["mean_output_rows"],
                                                                 src_per_tgt)
            t["achieved_gflops"] = t["target_tokens_per_s"] * t["flops_per_target_token"] / 1e9
            t["fraction_of_fp32_peak"] = t["achieved_gflops"] / run["gemm_gflops_fp32"]
            t["fp32_limit_tokens_per_s"] = run["gemm_gflops_fp32"] * 1e9 / t["flops_per_target_token"]
        for quantize in () if args.no_decoding else ("none", "int8"):
            has_shortlist = Translator.load(args.model).shortlist is not None
            for shortlist in (False, True) if has_shortlist else (False,):
                translator = Translator.load(args.model, quantize=quantize,
                                             overrides=[f"decoding.shortlist={shortlist}"])
                for beam in (1, 5):
                    key = f"decode_{quantize}{'_shortlist' if shortlist else ''}_beam{beam}"
                    run[key] = measure_decoding(translator, test, beam)
        results["runs"].append(run)
    results["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(table(results))


def table(results: dict) -> str:
    rows = ["| threads | GEMM fp32 / bf16 GFLOP/s | train tgt tok/s (% of fp32 peak) | "
            "decode sent/s greedy fp32 / int8 | beam 5 fp32 / int8 | with the shortlist: "
            "greedy fp32 / int8 | beam 5 fp32 / int8 |", "|---|---|---|---|---|---|---|"]

    def pair(r: dict, kind: str, beam: int) -> str:
        keys = (f"decode_none{kind}_beam{beam}", f"decode_int8{kind}_beam{beam}")
        return " / ".join(f"{r[k]['sentences_per_s']:.1f}" if k in r else "-" for k in keys)

    for r in results["runs"]:
        t = r["training"]
        rows.append(
            f"| {r['threads']} | {r['gemm_gflops_fp32']:.0f} / {r['gemm_gflops_bf16']:.0f} | "
            f"{t['target_tokens_per_s']:.0f} ({100 * t['fraction_of_fp32_peak']:.0f} %) | "
            f"{pair(r, '', 1)} | {pair(r, '', 5)} | {pair(r, '_shortlist', 1)} | {pair(r, '_shortlist', 5)} |")
    rows += ["", "| threads | output layer | rows per token | training MFLOP per target token | "
             "target tokens/s | share of the fp32 peak |", "|---|---|---|---|---|---|"]
    for r in results["runs"]:
        for key, t in r.items():
            if key.startswith("training"):
                what = ("whole vocabulary" if not t["output_candidates"] else
                        f"batch's pieces + {t['output_candidates']} frequent"
                        f" + {t.get('output_negatives', 0)} sampled")
                rows.append(f"| {r['threads']} | {what} | {t['mean_output_rows']:.0f} | "
                            f"{t['flops_per_target_token'] / 1e6:.1f} | {t['target_tokens_per_s']:.0f} | "
                            f"{100 * t['fraction_of_fp32_peak']:.0f} % |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
