"""Learning-rate schedules: constant, linear warmup, inverse square root, reduce on plateau.

A schedule is a plain object with a ``state_dict`` so that resuming restores it exactly; the
trainer calls ``step()`` after every update and ``observe(score)`` after every evaluation.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from nmt.config import TrainingConfig


class Schedule:
    def __init__(self, optimizer: torch.optim.Optimizer, cfg: TrainingConfig) -> None:
        self.optimizer = optimizer
        self.kind = cfg.schedule
        self.base = cfg.learning_rate
        self.warmup = cfg.warmup_steps
        self.factor = cfg.plateau_factor
        self.patience = cfg.plateau_patience
        self.floor = cfg.min_learning_rate
        self.updates = 0
        self.plateau_scale = 1.0
        self.best: float | None = None
        self.bad_evals = 0
        self._apply()

    @property
    def lr(self) -> float:
        step = self.updates + 1
        warm = min(1.0, step / self.warmup) if self.warmup else 1.0
        if self.kind == "inverse_sqrt":
            # Linear warmup to the base rate, then decay with 1/sqrt(step) (Vaswani et al. 2017).
            return self.base * (warm if step <= self.warmup else math.sqrt(max(1, self.warmup) / step))
        if self.kind == "plateau":
            return max(self.floor, self.base * warm * self.plateau_scale)
        if self.kind == "warmup":
            return self.base * warm
        return self.base

    def _apply(self) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr

    def step(self) -> None:
        self.updates += 1
        self._apply()

    def observe(self, score: float) -> None:
        """A dev score where higher is better; plateau cuts the rate after ``patience`` misses."""
        if self.kind != "plateau":
            return
        if self.best is None or score > self.best:
            self.best, self.bad_evals = score, 0
        else:
            self.bad_evals += 1
            if self.bad_evals > self.patience:
                self.plateau_scale *= self.factor
                self.bad_evals = 0
        self._apply()

    def state_dict(self) -> dict[str, Any]:
        return {"updates": self.updates, "plateau_scale": self.plateau_scale, "best": self.best,
                "bad_evals": self.bad_evals}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = state["updates"]
        self.plateau_scale = state["plateau_scale"]
        self.best = state["best"]
        self.bad_evals = state["bad_evals"]
        self._apply()
