"""Train a model from a config: tokenizers, bucketed batches, Adam, clipping, dev loss and BLEU.

The run directory is itself a model directory (``nmt translate --model RUN`` works on it): it
holds the best weights by dev BLEU (the last ones when there is no dev set), the tokenizers,
the resolved config, and ``metrics.jsonl`` with one line per log or evaluation.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sacrebleu
import torch
from torch.nn import functional as F

from nmt import checkpoint, registry
from nmt.config import Config
from nmt.data.batching import batches, collate
from nmt.errors import NmtError
from nmt.model import Seq2Seq, build_model, count_parameters


@dataclass
class Encoded:
    examples: list[tuple[list[int], list[int]]]
    dropped: int


def encode_pairs(src_tok, tgt_tok, src: list[str], tgt: list[str], max_length: int) -> Encoded:
    """Token ids of each pair, dropping empty pairs and pairs longer than ``max_length``."""
    s_ids, t_ids = src_tok.encode_batch(src), tgt_tok.encode_batch(tgt)
    keep = [(s, t) for s, t in zip(s_ids, t_ids) if 0 < len(s) <= max_length and 0 < len(t) <= max_length]
    return Encoded(keep, len(s_ids) - len(keep))


def prepare_run_dir(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise NmtError(f"--out {str(out)!r} exists and is not a directory.")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise NmtError(
            f"--out {str(out)!r} already holds files; choose a new directory or pass --force to "
            "overwrite the model in it."
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.jsonl").unlink(missing_ok=True)  # a forced re-run starts a fresh log


def train_tokenizers(cfg: Config, src: list[str], tgt: list[str]):
    tok_class = registry.load("tokenizers", cfg.tokenizer.type)
    t = cfg.tokenizer
    if t.joint:
        tok = tok_class.train(src + tgt, t.vocab_size, t.min_frequency)
        return tok, tok
    return (tok_class.train(src, t.vocab_size, t.min_frequency),
            tok_class.train(tgt, t.vocab_size, t.min_frequency))


class Trainer:
    def __init__(self, cfg: Config, out: Path, *, max_time: float | None = None,
                 progress: bool = True) -> None:
        self.cfg, self.out, self.max_time, self.progress = cfg, out, max_time, progress
        self.started = time.monotonic()

    # -- set-up ------------------------------------------------------------------------------
    def setup(self) -> None:
        from nmt.data.corpus import load_splits

        cfg = self.cfg
        torch.manual_seed(cfg.training.seed)
        random.seed(cfg.training.seed)
        if cfg.training.threads:
            torch.set_num_threads(cfg.training.threads)
        splits = load_splits(cfg.data)
        cfg.data.src_lang, cfg.data.tgt_lang = splits.src_lang, splits.tgt_lang
        self.src_tok, self.tgt_tok = train_tokenizers(cfg, splits.train.src, splits.train.tgt)
        enc = encode_pairs(self.src_tok, self.tgt_tok, splits.train.src, splits.train.tgt,
                           cfg.data.max_length)
        if not enc.examples:
            raise NmtError("no training pairs left after tokenization (all empty or longer than "
                           f"data.max_length={cfg.data.max_length}); check the corpus.")
        self.train_examples = enc.examples
        self.dev = splits.dev
        if self.dev is not None and cfg.data.dev_max_examples:
            n = cfg.data.dev_max_examples
            self.dev_src, self.dev_tgt = self.dev.src[:n], self.dev.tgt[:n]
            self.dev_examples = encode_pairs(self.src_tok, self.tgt_tok, self.dev_src, self.dev_tgt,
                                             10**9).examples
        else:
            self.dev = None
        self.model, provenance = build_model(cfg.model, self.src_tok.vocab_size, self.tgt_tok.vocab_size)
        provenance["tokenizer"] = registry.get("tokenizers", cfg.tokenizer.type).provenance
        self.meta_base = {
            "name": self.out.name, "src_lang": cfg.data.src_lang, "tgt_lang": cfg.data.tgt_lang,
            "components": provenance, "n_params": count_parameters(self.model),
        }
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.training.learning_rate)
        checkpoint.save_static(self.out, cfg, self.src_tok, self.tgt_tok)
        self.log({"event": "start", "train_pairs": len(self.train_examples), "dropped": enc.dropped,
                  "dev_pairs": len(self.dev_src) if self.dev else 0,
                  "src_vocab": self.src_tok.vocab_size, "tgt_vocab": self.tgt_tok.vocab_size,
                  "params": self.meta_base["n_params"]})

    # -- helpers -----------------------------------------------------------------------------
    def log(self, record: dict[str, Any]) -> None:
        record = {"time": round(time.monotonic() - self.started, 2), **record}
        with open(self.out / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def loss(self, model: Seq2Seq, batch) -> torch.Tensor:
        logits = model(batch.src, batch.src_lengths, batch.tgt_in)
        return F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), batch.tgt_out.reshape(-1),
            ignore_index=self.tgt_tok.pad_id, label_smoothing=self.cfg.training.label_smoothing,
            reduction="sum",
        )

    def evaluate(self) -> dict[str, float]:
        from nmt.translator import Translator

        model = self.model.eval()
        total, tokens = 0.0, 0
        with torch.no_grad():
            ex = self.dev_examples
            for start in range(0, len(ex), 64):
                batch = collate(ex[start : start + 64], self.tgt_tok.pad_id, self.tgt_tok.bos_id,
                                self.tgt_tok.eos_id)
                total += float(self.loss(model, batch))
                tokens += batch.n_tokens
        translator = Translator(model, self.src_tok, self.tgt_tok, self.cfg)
        hyps = translator.translate(self.dev_src, beam=self.cfg.training.dev_beam)
        bleu = sacrebleu.corpus_bleu(hyps, [self.dev_tgt]).score
        model.train()
        return {"dev_loss": total / max(1, tokens), "dev_ppl": math.exp(min(50, total / max(1, tokens))),
                "dev_bleu": bleu}

    def save(self, step: int, scores: dict[str, float]) -> None:
        checkpoint.save_weights(self.out, self.model, {**self.meta_base, "step": step, "scores": scores})

    def out_of_time(self) -> bool:
        return self.max_time is not None and time.monotonic() - self.started >= self.max_time

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        from tqdm import tqdm

        cfg, t = self.cfg, self.cfg.training
        tok = self.tgt_tok
        self.model.train()
        step, epoch, best = 0, 0, -1.0
        last_scores: dict[str, float] = {}
        window_loss, window_tokens, window_start = 0.0, 0, time.monotonic()
        bar = tqdm(total=t.max_steps, unit="step", desc="training", disable=not self.progress,
                   dynamic_ncols=True)
        stop = None
        try:
            while stop is None:
                if t.max_epochs is not None and epoch >= t.max_epochs:
                    stop = "max_epochs"
                    break
                for batch in batches(self.train_examples, t.batch_tokens, t.seed, epoch,
                                     tok.pad_id, tok.bos_id, tok.eos_id):
                    loss = self.loss(self.model, batch)
                    self.optimizer.zero_grad(set_to_none=True)
                    (loss / batch.n_tokens).backward()
                    if t.clip_norm > 0:
                        torch.nn.utils.clip_grad_norm_(self.model.parameters(), t.clip_norm)
                    self.optimizer.step()
                    step += 1
                    window_loss += loss.item()
                    window_tokens += batch.n_tokens
                    bar.update(1)
                    if step % t.log_every == 0:
                        elapsed = time.monotonic() - window_start
                        rate = window_tokens / max(elapsed, 1e-9)
                        record = {"event": "train", "step": step, "epoch": epoch,
                                  "loss": window_loss / window_tokens, "tgt_tokens_per_s": rate}
                        self.log(record)
                        bar.set_postfix(loss=f"{record['loss']:.3f}", tok_s=f"{rate:.0f}",
                                        **({"bleu": f"{last_scores['dev_bleu']:.2f}"} if last_scores else {}))
                        window_loss, window_tokens, window_start = 0.0, 0, time.monotonic()
                    if self.dev is not None and step % t.eval_every == 0:
                        last_scores = self.evaluate()
                        self.log({"event": "eval", "step": step, **last_scores})
                        if last_scores["dev_bleu"] > best:
                            best = last_scores["dev_bleu"]
                            self.save(step, last_scores)
                        bar.write(f"step {step}: dev loss {last_scores['dev_loss']:.3f}  "
                                  f"dev BLEU {last_scores['dev_bleu']:.2f}  (best {best:.2f})")
                        window_start = time.monotonic()
                    if t.max_steps is not None and step >= t.max_steps:
                        stop = "max_steps"
                    elif self.out_of_time():
                        stop = "max_time"
                    if stop:
                        break
                else:
                    epoch += 1
        except KeyboardInterrupt:
            stop = "interrupted"
            bar.write("interrupted: saving and stopping")
        finally:
            bar.close()
        if self.dev is not None and step % t.eval_every != 0 and step > 0:
            last_scores = self.evaluate()
            self.log({"event": "eval", "step": step, **last_scores})
            if last_scores["dev_bleu"] > best:
                best = last_scores["dev_bleu"]
                self.save(step, last_scores)
        if self.dev is None or best < 0:
            self.save(step, last_scores)
        summary = {"event": "end", "reason": stop, "steps": step, "epochs": epoch,
                   "best_dev_bleu": best if best >= 0 else None}
        self.log(summary)
        return summary


def train(cfg: Config, out: str | Path, *, max_time: float | None = None, force: bool = False,
          progress: bool = True) -> dict[str, Any]:
    """Train from ``cfg`` into the run directory ``out``; returns a summary of the run."""
    out = Path(out)
    prepare_run_dir(out, force)
    trainer = Trainer(cfg, out, max_time=max_time, progress=progress)
    trainer.setup()
    return trainer.run()
