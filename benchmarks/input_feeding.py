"""Training speed with input feeding on and off (issue: model and training depth).

Without input feeding the decoder's recurrence sees only the target tokens, so nmt runs it as
one fused kernel over the whole sequence and attends for all steps in one batched product;
with it, each step waits for the previous attentional vector. Same reference model shapes,
same batches, one thread:

    python benchmarks/input_feeding.py [--steps 15] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from nmt.config import ModelConfig
from nmt.data.batching import collate
from nmt.model import build_model

ROOT = Path(__file__).resolve().parent.parent


def batches(n: int, vocab: int, seed: int = 0):
    """Length-bucketed-like batches of about 2,048 target tokens (lengths as in the Bible)."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        tgt_len = int(torch.randint(20, 60, (1,), generator=g))
        size = 2048 // (tgt_len + 1)
        pairs = [(torch.randint(4, vocab, (max(1, tgt_len - 3),), generator=g).tolist(),
                  torch.randint(4, vocab, (tgt_len,), generator=g).tolist()) for _ in range(size)]
        out.append(collate(pairs, 0, 2, 3))
    return out


def tokens_per_second(input_feeding: bool, data, vocab: int) -> float:
    torch.manual_seed(0)
    cfg = ModelConfig(embedding_size=256, encoder_hidden_size=256, decoder_hidden_size=512,
                      attention="general", dropout=0.2, input_feeding=input_feeding)
    model, _ = build_model(cfg, vocab, vocab)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    tokens, elapsed = 0, 0.0
    for i, b in enumerate(data):
        start = time.perf_counter()
        logits = model(b.src, b.src_lengths, b.tgt_in)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), b.tgt_out.reshape(-1),
                                                 ignore_index=0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= 2:
            elapsed += time.perf_counter() - start
            tokens += b.n_tokens
    return tokens / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    vocab = 8000
    data = batches(args.steps + 2, vocab)
    on = tokens_per_second(True, data, vocab)
    off = tokens_per_second(False, data, vocab)
    result = {"machine": platform.processor() or platform.machine(), "threads": args.threads,
              "torch": torch.__version__, "steps": args.steps,
              "target_tokens_per_s": {"input_feeding": on, "no_input_feeding": off},
              "speedup": off / on}
    out = ROOT / "benchmarks" / "results" / "input_feeding.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"| input feeding | target tokens/s ({args.threads} thread) |\n|---|---|\n"
          f"| on | {on:.0f} |\n| off (fused) | {off:.0f} ({off / on:.2f}x) |")


if __name__ == "__main__":
    main()
