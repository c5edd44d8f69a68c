"""Train a model from a config: tokenizers, bucketed batches, optimizer and schedule, dev
evaluation, best and resumable checkpoints, and data-parallel training under torchrun.

The run directory is itself a model directory (``nmt translate --model RUN`` works on it): it
holds the best weights by the early-stopping metric (the last ones when there is no dev set),
the tokenizers, the resolved config and ``metrics.jsonl``. Beside them: ``best/step-N`` (the
``keep_best`` best weights, for averaging), ``checkpoints/`` (what ``--resume`` continues from)
and ``learning_curves.png``.

One optimizer update consumes a *group* of ``accumulate x world_size`` batches; every batch's
summed loss is divided by the group's target-token count, so an update is the same whether the
group runs in one process or is spread over several.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import shutil
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from nmt import checkpoint, registry, shortlist, waitk
from nmt.config import Config
from nmt.contract import CandidateDecoder, supports
from nmt.data.batching import Batch, bucket, collate
from nmt.errors import NmtError
from nmt.evaluation.metrics import score
from nmt.model import build_model, count_parameters, record_options
from nmt.training import distributed, state
from nmt.training.allocator import keep_freed_memory
from nmt.training.candidates import candidate_cross_entropy, candidate_vocabulary, frequent_targets
from nmt.training.prefixes import prefix_pairs
from nmt.training.schedule import Schedule


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
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise NmtError(
                f"--out {str(out)!r} already holds files; choose a new directory, continue the run "
                "with --resume, or pass --force to start over in it."
            )
        for name in ("metrics.jsonl", "best", state.CHECKPOINTS):  # a forced re-run starts afresh
            path = out / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def train_tokenizers(cfg: Config, src: list[str], tgt: list[str]):
    tok_class = registry.load("tokenizers", cfg.tokenizer.type)
    t = cfg.tokenizer
    if t.joint:
        tok = tok_class.train(src + tgt, t.vocab_size, t.min_frequency)
        return tok, tok
    return (tok_class.train(src, t.vocab_size, t.min_frequency),
            tok_class.train(tgt, t.vocab_size, t.min_frequency))


# Model keys a fine-tuning run may change: they shape training, not the weights.
_TUNABLE = ("dropout", "embedding_dropout", "init_range")


def load_start(cfg: Config) -> checkpoint.LoadedModel:
    """The model that ``training.init_from`` names, checked to have this config's architecture
    and tokenizer, so that its weights fit and its vocabulary means the same pieces."""
    path = Path(cfg.training.init_from)
    try:
        start = checkpoint.load(path)
    except NmtError as exc:
        raise NmtError(f"training.init_from: {exc}") from exc
    ours, theirs = asdict(cfg.model), asdict(start.config.model)
    differ = [k for k in ours if k not in _TUNABLE and ours[k] != theirs.get(k)]
    if start.config.tokenizer.type != cfg.tokenizer.type:
        differ.append("tokenizer.type")
    if differ:
        shown = ", ".join(f"{k} ({theirs.get(k, start.config.tokenizer.type)!r} there, "
                          f"{ours.get(k, cfg.tokenizer.type)!r} here)" for k in differ)
        raise NmtError(f"training.init_from {str(path)!r} has a different architecture: {shown}. "
                       "Fine-tuning needs the same model section; copy it from "
                       f"{path / checkpoint.CONFIG}.")
    return start


def pick_examples(sources: list[str], n: int = 5, words: tuple[int, int] = (5, 16)) -> list[str]:
    """A few source sentences a person can click to try the model (the web UI shows them):
    held-out ones of a readable length, spread over the set rather than its first lines."""
    fitting = [s for s in sources if words[0] <= len(s.split()) <= words[1]]
    if len(fitting) < n:  # a small dev set: readable ones first, then the rest
        return (fitting + [s for s in sources if s not in fitting])[:n]
    return fitting[:: len(fitting) // n][:n]


def fused_optimizer(device: torch.device) -> dict[str, bool]:
    """Adam's one-kernel update where this torch has it for the device (CPU since torch 2.4):
    the same arithmetic as the per-tensor loop, without a dozen passes over every parameter
    (on the reference model, one thread, 39 -> 9 ms of a 1.2 s update)."""
    if device.type == "cuda" or tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 4):
        return {"fused": True}
    return {}


def pick_device(name: str, world: distributed.World | None = None) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise NmtError(f"training.device is {name!r} but no CUDA device is available; use 'cpu'.")
        if name == "cuda" and world is not None:
            name = f"cuda:{world.local_rank}"
    return torch.device(name)


class Trainer:
    def __init__(self, cfg: Config, out: Path, *, max_time: float | None = None,
                 progress: bool = True, resume: bool = False) -> None:
        self.cfg, self.out, self.max_time, self.progress = cfg, out, max_time, progress
        self.resume = resume
        self.started = time.monotonic()
        self.tb = None

    # -- set-up ------------------------------------------------------------------------------
    def setup(self) -> None:
        from nmt.data.corpus import load_splits

        cfg, t = self.cfg, self.cfg.training
        self.device = pick_device(t.device)
        self.world = distributed.init(self.device)
        if self.world.distributed and self.device.type == "cuda":
            self.device = pick_device(t.device, self.world)
            torch.cuda.set_device(self.device)
        if self.device.type == "cpu":
            keep_freed_memory()
        torch.manual_seed(t.seed)
        random.seed(t.seed)
        if t.threads:
            torch.set_num_threads(t.threads)
        if t.precision == "fp16" and self.device.type != "cuda":
            raise NmtError("training.precision fp16 needs a CUDA device; use bf16 or fp32 on CPU.")
        # A missing or broken plugin, or an unknown component option, fails before data work;
        # the config saved with the run then records every component's options resolved.
        registry.load("tokenizers", cfg.tokenizer.type)
        record_options(cfg.model)
        splits = load_splits(cfg.data)
        cfg.data.src_lang, cfg.data.tgt_lang = splits.src_lang, splits.tgt_lang
        start = load_start(cfg) if t.init_from and not self.resume else None
        if self.resume:
            tok_class = registry.load("tokenizers", cfg.tokenizer.type)
            self.src_tok = tok_class.load(self.out / checkpoint.SRC_TOKENIZER)
            self.tgt_tok = tok_class.load(self.out / checkpoint.TGT_TOKENIZER)
        elif start is not None:  # fine-tuning keeps the starting model's vocabulary
            self.src_tok, self.tgt_tok = start.src_tokenizer, start.tgt_tokenizer
            if self.world.is_main:
                checkpoint.save_static(self.out, cfg, self.src_tok, self.tgt_tok)
        elif self.world.is_main:
            self.src_tok, self.tgt_tok = train_tokenizers(cfg, splits.train.src, splits.train.tgt)
            checkpoint.save_static(self.out, cfg, self.src_tok, self.tgt_tok)
        self.world.barrier()
        if not self.resume and not self.world.is_main:  # every rank uses rank 0's tokenizers
            tok_class = registry.load("tokenizers", cfg.tokenizer.type)
            self.src_tok = tok_class.load(self.out / checkpoint.SRC_TOKENIZER)
            self.tgt_tok = tok_class.load(self.out / checkpoint.TGT_TOKENIZER)
        enc = encode_pairs(self.src_tok, self.tgt_tok, splits.train.src, splits.train.tgt,
                           cfg.data.max_length)
        if not enc.examples:
            raise NmtError("no training pairs left after tokenization (all empty or longer than "
                           f"data.max_length={cfg.data.max_length}); check the corpus.")
        if self.resume:
            self.shortlist = checkpoint.load_shortlist(self.out, self.src_tok, self.tgt_tok)
        else:  # every rank builds the same list: cheaper than waiting on rank 0 to write it
            self.shortlist = shortlist.build(enc.examples, self.src_tok.vocab_size,
                                             self.tgt_tok.vocab_size)
            if self.shortlist is not None and self.world.is_main:
                checkpoint.atomic_write(self.out / checkpoint.SHORTLIST, self.shortlist.save)
        self.train_examples = enc.examples
        added = 0
        if t.prefix_pairs:  # after the shortlist, which is learned from whole sentences only
            extra_src, extra_tgt = prefix_pairs(splits.train.src, splits.train.tgt,
                                                t.prefix_pairs, t.seed)
            extra = encode_pairs(self.src_tok, self.tgt_tok, extra_src, extra_tgt,
                                 cfg.data.max_length).examples
            self.train_examples = enc.examples + extra
            added = len(extra)
        self.lengths = [(len(s), len(t_)) for s, t_ in self.train_examples]
        self.dev = splits.dev if splits.dev is not None and cfg.data.dev_max_examples else None
        if self.dev is not None:
            n = cfg.data.dev_max_examples
            self.dev_src, self.dev_tgt = self.dev.src[:n], self.dev.tgt[:n]
            examples = encode_pairs(self.src_tok, self.tgt_tok, self.dev_src, self.dev_tgt,
                                    10**9).examples
            tok = self.tgt_tok  # the dev batches never change: build them once, not per evaluation
            self.dev_batches = [collate(examples[i : i + 64], tok.pad_id, tok.bos_id, tok.eos_id)
                                for i in range(0, len(examples), 64)]
        self.model, provenance = build_model(cfg.model, self.src_tok.vocab_size, self.tgt_tok.vocab_size)
        if start is not None:
            self.model.load_state_dict(start.model.state_dict())
        self.model.to(self.device)
        self.frequent = self._frequent_targets(t.output_candidates)
        self.negatives: torch.Generator | None = None  # set per update: see update()
        provenance["tokenizer"] = registry.get("tokenizers", cfg.tokenizer.type).provenance
        self.meta_base = {
            "name": self.out.name, "src_lang": cfg.data.src_lang, "tgt_lang": cfg.data.tgt_lang,
            "components": provenance, "n_params": count_parameters(self.model),
            "examples": pick_examples(self.dev_src if self.dev is not None else splits.train.src),
        }
        opt_class = torch.optim.AdamW if t.optimizer == "adamw" else torch.optim.Adam
        self.optimizer = opt_class(self.model.parameters(), lr=t.learning_rate,
                                   weight_decay=t.weight_decay, **fused_optimizer(self.device))
        self.schedule = Schedule(self.optimizer, t)
        self.scaler = torch.amp.GradScaler("cuda") if t.precision == "fp16" else None
        # A wait-k model trains prefix-to-prefix: the same weights through a forward pass in
        # which each target step reads only a source prefix (nmt.waitk); offline models keep
        # their own forward, untouched.
        self.prefix = waitk.PrefixToPrefix(self.model) if t.wait_k else None
        self.ddp = self.model if self.prefix is None else self.prefix
        if self.world.distributed:
            self.ddp = torch.nn.parallel.DistributedDataParallel(
                self.ddp, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        self.position = {"step": 0, "epoch": 0, "batch": 0}
        self.best: list[tuple[float, int]] = []  # (score, step), best first
        self.evals_without_gain = 0
        if self.resume:
            self._restore()
        if t.tensorboard and self.world.is_main:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as exc:
                raise NmtError("training.tensorboard needs the tensorboard package: "
                               "pip install tensorboard") from exc
            self.tb = SummaryWriter(str(self.out / "tensorboard"))
        self.log({"event": "resume" if self.resume else "start",
                  "train_pairs": len(self.train_examples), "prefix_pairs": added,
                  "dropped": enc.dropped, "init_from": t.init_from,
                  "dev_pairs": len(self.dev_src) if self.dev else 0,
                  "src_vocab": self.src_tok.vocab_size, "tgt_vocab": self.tgt_tok.vocab_size,
                  "params": self.meta_base["n_params"], "device": str(self.device),
                  "world_size": self.world.size, **self.position})

    def _frequent_targets(self, n: int) -> torch.Tensor | None:
        """The ``n`` most frequent target ids of the training data (every id once ``n`` covers
        the vocabulary), always candidates of the per-batch output vocabulary; None: off."""
        if not n:
            if self.cfg.training.output_negatives:
                raise NmtError("training.output_negatives adds sampled pieces to a per-batch output "
                               "vocabulary, but training.output_candidates is 0 (the whole "
                               "softmax). Set training.output_candidates (e.g. 1000), or "
                               "training.output_negatives: 0.")
            return None
        if not supports(self.model.decoder, CandidateDecoder):
            raise NmtError(f"training.output_candidates needs a decoder that can score a subset "
                           f"of its output rows; {type(self.model.decoder).__name__} does not "
                           "offer CandidateDecoder (trains_on_candidates). Use model.decoder: "
                           "rnn, or set training.output_candidates: 0.")
        return frequent_targets(self.train_examples, self.tgt_tok.vocab_size, self.tgt_tok.eos_id,
                                n).to(self.device)

    def _restore(self) -> None:
        path = state.latest(self.out)
        if path is None:
            raise NmtError(f"{self.out} has no resumable checkpoint (checkpoints/latest); "
                           "start a new run with --out instead.")
        saved = state.restore(path, self.model, self.optimizer)
        if self.world.is_main:
            state.sweep_leftovers(self.out)
        self.position = saved["position"]
        self.best = [tuple(b) for b in saved["best"]]
        self.evals_without_gain = saved["evals_without_gain"]
        self.schedule.load_state_dict(saved["schedule"])

    # -- helpers -----------------------------------------------------------------------------
    def log(self, record: dict[str, Any]) -> None:
        if not self.world.is_main:
            return
        record = {"time": round(time.monotonic() - self.started, 2), **record}
        with open(self.out / "metrics.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if self.tb is not None and "step" in record:
            for key, value in record.items():
                if isinstance(value, (int, float)) and key not in ("step", "time", "epoch"):
                    self.tb.add_scalar(f"{record['event']}/{key}", value, record["step"])

    def autocast(self):
        precision = self.cfg.training.precision
        if precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if precision == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def loss_sum(self, model: torch.nn.Module, batch: Batch, k: int = 0,
                 candidates: bool = False) -> torch.Tensor:
        """Summed cross-entropy of ``batch``; ``k`` > 0: ``model`` is the wait-k pass
        (:class:`nmt.waitk.PrefixToPrefix`, maybe data-parallel) and reads with lag k.

        ``candidates`` (training with ``training.output_candidates``): the softmax runs over
        the batch's own target pieces, the most frequent ones and ``training.output_negatives``
        sampled ones only (:mod:`nmt.training.candidates`), so the output layer, the largest
        product per target token, shrinks from the whole vocabulary to that set; with every id
        a candidate, loss and gradients are the whole softmax's.
        """
        t = self.cfg.training
        sample = None
        if candidates and self.frequent is not None:
            sample = candidate_vocabulary(batch.tgt_out, self.frequent, self.tgt_tok.pad_id,
                                          self.tgt_tok.vocab_size, t.output_negatives,
                                          self.negatives)
        extra = {} if sample is None else {"vocab": sample.vocab}
        with self.autocast():
            if k:
                logits = model(batch.src, batch.src_lengths, batch.tgt_in, k, **extra)
            else:
                logits = model(batch.src, batch.src_lengths, batch.tgt_in, **extra)
        if sample is not None:
            return candidate_cross_entropy(logits, sample, t.label_smoothing, self.tgt_tok.vocab_size)
        return F.cross_entropy(
            logits.float().reshape(-1, logits.size(-1)), batch.tgt_out.reshape(-1),
            ignore_index=self.tgt_tok.pad_id, label_smoothing=t.label_smoothing, reduction="sum",
        )

    def evaluate(self) -> dict[str, float]:
        from nmt.translator import Translator

        model = self.model.eval()
        total, tokens = 0.0, 0
        with torch.no_grad():
            for batch in self.dev_batches:
                batch = batch.to(self.device)
                # A wait-k model's dev loss is read at its largest lag, the same every time.
                wait = self.prefix if self.prefix is not None else model
                total += float(self.loss_sum(wait, batch, self.cfg.training.wait_k))
                tokens += batch.n_tokens
        translator = Translator(model, self.src_tok, self.tgt_tok, self.cfg, shortlist=self.shortlist)
        hyps = translator.translate(self.dev_src, beam=self.cfg.training.dev_beam)
        model.train()
        loss = total / max(1, tokens)
        # Scored by the evaluation harness, so a dev BLEU here is the number `nmt evaluate`
        # (and sacrebleu's command line) would print for the same hypotheses.
        bleu, chrf = score(hyps, [self.dev_tgt], ("bleu", "chrf"))
        return {"dev_loss": loss, "dev_ppl": math.exp(min(50.0, loss)),
                "dev_bleu": bleu.score, "dev_chrf": chrf.score}

    def score_of(self, scores: dict[str, float]) -> float:
        """The early-stopping metric, oriented so that higher is better."""
        metric = self.cfg.training.early_stopping_metric
        return -scores["dev_loss"] if metric == "loss" else scores[f"dev_{metric}"]

    def meta(self, scores: dict[str, float]) -> dict[str, Any]:
        return {**self.meta_base, "step": self.position["step"], "scores": scores}

    def record_best(self, scores: dict[str, float]) -> bool:
        """Keep the ``keep_best`` best weights under best/; the very best is the run's model."""
        step, score = self.position["step"], self.score_of(scores)
        improved = not self.best or score > self.best[0][0]
        if improved:
            checkpoint.save_weights(self.out, self.model, self.meta(scores))
        keep = self.cfg.training.keep_best
        if len(self.best) < keep or score > self.best[-1][0]:
            checkpoint.save_weights(self.out / "best" / f"step-{step:09d}", self.model, self.meta(scores))
            self.best = sorted([*self.best, (score, step)], reverse=True)
            for _, old in self.best[keep:]:
                shutil.rmtree(self.out / "best" / f"step-{old:09d}", ignore_errors=True)
            self.best = self.best[:keep]
        return improved

    def save_resumable(self) -> None:
        if self.world.is_main:
            state.save(self.out, self.position["step"], self.model, self.optimizer, {
                "position": self.position, "best": self.best,
                "evals_without_gain": self.evals_without_gain,
                "schedule": self.schedule.state_dict(),
            })

    def out_of_time(self) -> bool:
        return self.max_time is not None and time.monotonic() - self.started >= self.max_time

    # -- the loop ----------------------------------------------------------------------------
    def update(self, group: list[list[int]]) -> tuple[float, int]:
        """One optimizer update on a group of batches (this rank's share of it)."""
        t = self.cfg.training
        tok = self.tgt_tok
        total_tokens = sum(self.lengths[i][1] + 1 for b in group for i in b)
        mine = group[self.world.rank :: self.world.size]
        loss_total, tokens = 0.0, 0
        # Sampled output negatives: each process its own, fixed by (seed, update, rank) so that
        # a resumed run draws what the uninterrupted one would have.
        draw_seed = (t.seed * 1_000_003 + self.position["step"]) * 1024 + self.world.rank
        self.negatives = torch.Generator().manual_seed(draw_seed)
        if self.world.rank:
            # Dropout: rank 0 draws from the run's stream (saved with checkpoints, so one
            # process runs as before); every other rank started from the same seed and would
            # repeat rank 0's masks on its own batches, so it draws from (seed, update, rank),
            # on a stream apart from the negatives' (the same seed would draw the same numbers).
            torch.manual_seed(draw_seed ^ 0x5DEECE66D)
        for j, indices in enumerate(mine):
            batch = collate([self.train_examples[i] for i in indices], tok.pad_id, tok.bos_id,
                            tok.eos_id).to(self.device)
            sync = not self.world.distributed or j == len(mine) - 1
            place = self.world.rank + j * self.world.size  # in the group: see waitk.sample_k
            k = waitk.sample_k(t.wait_k, t.wait_k_multi, t.seed, self.position["step"],
                               place) if t.wait_k else 0
            with contextlib.nullcontext() if sync else self.ddp.no_sync():
                loss = self.loss_sum(self.ddp, batch, k, candidates=True)
                scaled = loss * (self.world.size / total_tokens)
                (self.scaler.scale(scaled) if self.scaler else scaled).backward()
            loss_total += loss.item()
            tokens += batch.n_tokens
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        if t.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), t.clip_norm)
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.schedule.step()
        return loss_total, tokens

    def run(self) -> dict[str, Any]:
        from tqdm import tqdm

        t, pos = self.cfg.training, self.position
        group_size = t.accumulate * self.world.size
        save_every = t.save_every or t.eval_every
        self.model.train()
        last_scores: dict[str, float] = {}
        window = {"loss": 0.0, "tokens": 0, "start": time.monotonic()}
        session = {"tokens": 0, "start": time.monotonic()}  # this process, for the end summary
        bar = tqdm(total=t.max_steps, initial=pos["step"], unit="step", desc="training",
                   disable=not (self.progress and self.world.is_main), dynamic_ncols=True)
        stop = None
        previous = _on_sigterm(_raise_interrupt)
        try:
            while stop is None:
                if t.max_epochs is not None and pos["epoch"] >= t.max_epochs:
                    stop = "max_epochs"
                    break
                # A run resumed from its final save (killed before it could log its end) has
                # nothing left to do: checked before an update, not only after one.
                if t.max_steps is not None and pos["step"] >= t.max_steps:
                    stop = "max_steps"
                    break
                epoch_batches = bucket(self.lengths, t.batch_tokens, t.seed, pos["epoch"])
                # Several processes need whole groups; a single one also takes the last partial one.
                usable = len(epoch_batches) if not self.world.distributed else \
                    len(epoch_batches) // group_size * group_size
                while pos["batch"] < usable and stop is None:
                    group = epoch_batches[pos["batch"] : pos["batch"] + group_size]
                    loss, tokens = self.update(group)
                    pos["batch"] += len(group)
                    pos["step"] += 1
                    window["loss"] += loss
                    window["tokens"] += tokens
                    session["tokens"] += tokens
                    bar.update(1)
                    if pos["step"] % t.log_every == 0:
                        self._log_window(window, bar, last_scores)
                    if self.dev is not None and pos["step"] % t.eval_every == 0:
                        last_scores = self._evaluate_and_keep(bar)
                        if t.patience is not None and self.evals_without_gain >= t.patience:
                            stop = "early_stopping"
                        window["start"] = time.monotonic()
                    if pos["step"] % save_every == 0:
                        self.save_resumable()
                    if t.max_steps is not None and pos["step"] >= t.max_steps:
                        stop = "max_steps"
                    elif self.out_of_time():
                        stop = "max_time"
                    # Every rank joins this collective after every update, whatever its own
                    # verdict, so the ranks leave the loop together at the same step, with the
                    # same reason, even when only one rank's clock has run out.
                    stop = self.world.agree(stop, STOP_REASONS)
                if stop is None:
                    pos["epoch"] += 1
                    pos["batch"] = 0
        except KeyboardInterrupt:
            stop = "interrupted"
            bar.write("interrupted: saving a resumable checkpoint (continue with --resume)")
        finally:
            bar.close()
            _on_sigterm(previous)
            loop_seconds = time.monotonic() - session["start"]
        if self.dev is not None and pos["step"] % t.eval_every != 0 and pos["step"] > 0 \
                and stop != "interrupted":
            last_scores = self._evaluate_and_keep(None)  # every rank: it ends in a broadcast
        if self.world.is_main and (self.dev is None or not self.best):
            checkpoint.save_weights(self.out, self.model, self.meta(last_scores))
        self.save_resumable()
        summary = {"event": "end", "reason": stop, "steps": pos["step"], "epochs": pos["epoch"],
                   "best": self.best[0][0] if self.best else None,
                   "metric": t.early_stopping_metric, "loop_seconds": round(loop_seconds, 3),
                   "tgt_tokens": int(self.world.sum(session["tokens"])[0])}  # all ranks, this session
        self.log(summary)
        if self.world.is_main:
            from nmt.training.plot import plot_learning_curves

            plot_learning_curves(self.out / "metrics.jsonl", self.out / "learning_curves.png")
        if self.tb is not None:
            self.tb.close()
        self.world.barrier()
        return summary

    def _log_window(self, window: dict, bar, last_scores: dict) -> None:
        loss, tokens = self.world.sum(window["loss"], window["tokens"])
        rate = tokens / max(time.monotonic() - window["start"], 1e-9)
        record = {"event": "train", **self.position, "loss": loss / max(1, tokens),
                  "lr": self.schedule.lr, "tgt_tokens_per_s": rate}
        self.log(record)
        extra = {"bleu": f"{last_scores['dev_bleu']:.2f}"} if last_scores else {}
        bar.set_postfix(loss=f"{record['loss']:.3f}", tok_s=f"{rate:.0f}", **extra)
        window.update(loss=0.0, tokens=0, start=time.monotonic())

    def _evaluate_and_keep(self, bar) -> dict[str, float]:
        scores: dict[str, float] = {}
        if self.world.is_main:
            started = time.monotonic()
            scores = self.evaluate()
            seconds = round(time.monotonic() - started, 2)  # lets curves plot training time
            improved = self.record_best(scores)
            self.evals_without_gain = 0 if improved else self.evals_without_gain + 1
            self.schedule.observe(self.score_of(scores))
            self.log({"event": "eval", **self.position, **scores, "lr": self.schedule.lr,
                      "eval_seconds": seconds})
            message = (f"step {self.position['step']}: dev loss {scores['dev_loss']:.3f}  "
                       f"BLEU {scores['dev_bleu']:.2f}  chrF {scores['dev_chrf']:.2f}"
                       f"{'  (best)' if improved else ''}")
            (bar.write if bar is not None else print)(message)
        if self.world.distributed:  # every rank needs the same stopping and schedule decisions
            shared = [self.evals_without_gain, self.schedule.state_dict()]
            torch.distributed.broadcast_object_list(shared, src=0)
            self.evals_without_gain = shared[0]
            self.schedule.load_state_dict(shared[1])
        return scores


# Why a run ends, in the order of precedence used when ranks give different reasons.
STOP_REASONS = ("max_steps", "early_stopping", "max_time")


def _raise_interrupt(signum, frame):  # SIGTERM (e.g. a scheduler's pre-emption) acts as Ctrl-C
    raise KeyboardInterrupt


def _on_sigterm(handler):
    """Install a SIGTERM handler where Python allows it (the main thread); return the old one."""
    try:
        return signal.signal(signal.SIGTERM, handler)
    except (ValueError, TypeError):
        return None


def train(cfg: Config, out: str | Path, *, max_time: float | None = None, force: bool = False,
          progress: bool = True, resume: bool = False) -> dict[str, Any]:
    """Train from ``cfg`` into the run directory ``out`` (or continue it); returns a summary."""
    out = Path(out)
    created = False
    if resume:
        if not (out / checkpoint.CONFIG).is_file():
            raise NmtError(f"--resume {str(out)!r}: not a run directory (no {checkpoint.CONFIG}).")
    elif int(os.environ.get("RANK", "0")) == 0:
        created = not out.exists()
        prepare_run_dir(out, force)
    trainer = Trainer(cfg, out, max_time=max_time, progress=progress, resume=resume)
    try:
        try:
            trainer.setup()
        except BaseException:
            if created:  # a run that never started leaves no half-made directory to trip over
                shutil.rmtree(out, ignore_errors=True)
            raise
        return trainer.run()
    finally:
        distributed.shutdown()
