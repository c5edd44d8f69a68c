"""Ensemble decoding: several models search as one.

Each step, every model scores the next piece from its own state and the ensemble takes the mean
of their *probabilities* (fairseq's choice; OpenNMT-py and Marian take the mean of
log-probabilities):

    log p(y | ...) = log (1/M) sum_m p_m(y | ...)  =  logsumexp_m(log p_m) - log M

The mean of probabilities is itself a distribution, so scores, the length penalty, n-best lists
and each sentence's renormalisation over its shortlist mean what they mean for one model; and a
piece that one model finds impossible is not vetoed outright, as a product (the mean of
log-probabilities) would. The attention shown is the models' mean.

The ensemble is a model as beam search sees it (``start`` and a ``decoder`` with ``step``,
``restrict_vocabulary`` and the memory and state values' ``select``), so every search feature
(shortlists, n-best, n-gram blocking, forced prefixes for live re-translation) works unchanged.
Models must share both vocabularies: they read the same source ids and their distributions are
over the same target ids.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from nmt.contract import BeamSharingDecoder, RestrictableDecoder, supports

__all__ = ["Ensemble"]


@dataclass(frozen=True)
class Members:
    """One value per model (a memory or a decoder state), selected together. ``mask`` is the
    first model's, for search's device and padding checks."""

    parts: tuple

    @property
    def mask(self) -> Tensor:
        return self.parts[0].mask

    def select(self, index: Tensor) -> Members:
        return Members(tuple(part.select(index) for part in self.parts))


class EnsembleDecoder(nn.Module):
    """Steps every model's decoder and averages their probabilities (see the module)."""

    contract = 1

    def __init__(self, decoders: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(decoders)
        # Capabilities hold only when every model has them; search asks with supports().
        self.beams_share_memory = all(supports(d, BeamSharingDecoder) for d in decoders)
        if not all(supports(d, RestrictableDecoder) for d in decoders):
            self.restrict_vocabulary = None  # a shortlist is then ignored, as for one such model

    def restrict_vocabulary(self, memory: Members, vocab: Tensor) -> Members:
        return Members(tuple(d.restrict_vocabulary(m, vocab)
                             for d, m in zip(self.members, memory.parts)))

    def step(self, prev: Tensor, state: Members, memory: Members) -> tuple[Tensor, Tensor, Members]:
        """prev (rows,) -> log of the mean probability (rows, vocab), mean attention (rows,
        src_len), the models' next states."""
        logps, weights, states = [], [], []
        for decoder, s, m in zip(self.members, state.parts, memory.parts):
            logp, w, s = decoder.step(prev, s, m)
            logps.append(logp)
            weights.append(w)
            states.append(s)
        if len(logps) == 1:
            return logps[0], weights[0], Members(tuple(states))
        mean = torch.logsumexp(torch.stack(logps), dim=0) - math.log(len(logps))
        return mean, torch.stack(weights).mean(0), Members(tuple(states))


class Ensemble(nn.Module):
    """Models that share their vocabularies, searched as one (``nmt.search.beam_search``)."""

    def __init__(self, models: list[nn.Module]) -> None:
        super().__init__()
        self.models = nn.ModuleList(models)
        self.decoder = EnsembleDecoder([m.decoder for m in models])

    def start(self, src: Tensor, src_lengths: Tensor) -> tuple[None, Members, Members]:
        """Every model encodes the batch once; the memories and initial states travel together."""
        begun = [m.start(src, src_lengths) for m in self.models]
        return None, Members(tuple(b[1] for b in begun)), Members(tuple(b[2] for b in begun))
