"""Attention over encoder states: Bahdanau (additive), Luong (dot, general) and coverage.

Contract: ``precompute(keys)`` runs once per source sentence and returns whatever the
per-step ``forward`` needs (here the projected keys), so nothing is cached on the module and
one model can serve many requests at once. ``forward(query, keys, cache, mask)`` returns the
context vector and the attention weights.

Shapes: keys (batch, src_len, key_size); mask (batch, src_len), True at real tokens;
query (batch, query_size); context (batch, key_size); weights (batch, src_len).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


class _Attention(nn.Module):
    contract = 1
    step_masks = True  # attend_all takes one mask per query (StepMaskedAttention)

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        self.query_size = query_size
        self.key_size = key_size

    def precompute(self, keys: Tensor) -> Tensor:
        return keys

    def scores(self, queries: Tensor, cache: Tensor) -> Tensor:
        """queries (batch, steps, query_size), cache from precompute -> (batch, steps, src_len)."""
        raise NotImplementedError

    def forward(
        self, query: Tensor, keys: Tensor, cache: Tensor, mask: Tensor
    ) -> tuple[Tensor, Tensor]:
        context, weights = self.attend_all(query.unsqueeze(1), keys, cache, mask)
        return context.squeeze(1), weights.squeeze(1)

    def attend_all(
        self, queries: Tensor, keys: Tensor, cache: Tensor, mask: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Many queries at once (batch, steps, query_size) -> context (batch, steps, key_size),
        weights (batch, steps, src_len). A decoder without input feeding attends for every
        target step in this one call. ``mask`` is (batch, src_len) for all steps, or (batch,
        steps, src_len), one per step (wait-k training: step t reads a source prefix)."""
        allowed = mask.unsqueeze(1) if mask.dim() == 2 else mask
        scores = self.scores(queries, cache).masked_fill(~allowed, torch.finfo(cache.dtype).min)
        weights = torch.softmax(scores, dim=-1)
        return torch.bmm(weights, keys), weights


class DotAttention(_Attention):
    """Luong et al. (2015), eq. 8 "dot": score(h_t, h_s) = h_t^T h_s. Needs query_size == key_size."""

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__(query_size, key_size)
        if query_size != key_size:
            from nmt.errors import NmtError

            raise NmtError(
                f"dot attention needs the decoder size ({query_size}) to equal the encoder output "
                f"size ({key_size}); use attention 'general' or 'bahdanau', or change the sizes."
            )

    def scores(self, queries: Tensor, cache: Tensor) -> Tensor:
        return torch.bmm(queries, cache.transpose(1, 2))


class GeneralAttention(_Attention):
    """Luong et al. (2015), eq. 8 "general": score(h_t, h_s) = h_t^T W_a h_s.

    W_a h_s is computed once per sentence in ``precompute`` (keys projected to query size).
    """

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__(query_size, key_size)
        self.key_proj = nn.Linear(key_size, query_size, bias=False)

    def precompute(self, keys: Tensor) -> Tensor:
        return self.key_proj(keys)

    def scores(self, queries: Tensor, cache: Tensor) -> Tensor:
        return torch.bmm(queries, cache.transpose(1, 2))


class BahdanauAttention(_Attention):
    """Bahdanau et al. (2015), eq. 6 / appendix A.1.2: e = v^T tanh(W q + U h_s).

    U h_s is computed once per sentence in ``precompute``. W and U project to
    ``attention_size`` (``model.attention_options: {attention_size: N}``); by default the
    decoder's hidden size, as the paper's n' = n and as every model trained before the option.
    """

    @dataclass(frozen=True)
    class Options:
        attention_size: int | None = None  # None: the query (decoder hidden) size

        def __post_init__(self) -> None:
            if self.attention_size is not None and self.attention_size < 1:
                from nmt.errors import NmtError

                raise NmtError(f"bahdanau attention_size must be at least 1, got {self.attention_size}.")

    def __init__(self, query_size: int, key_size: int, options: Options | None = None) -> None:
        super().__init__(query_size, key_size)
        size = (options or self.Options()).attention_size or query_size
        self.key_proj = nn.Linear(key_size, size, bias=False)
        self.query_proj = nn.Linear(query_size, size, bias=False)
        self.energy = nn.Linear(size, 1, bias=False)

    def precompute(self, keys: Tensor) -> Tensor:
        return self.key_proj(keys)

    def scores(self, queries: Tensor, cache: Tensor) -> Tensor:
        q = self.query_proj(queries).unsqueeze(2)  # (batch, steps, 1, size)
        return self.energy(torch.tanh(cache.unsqueeze(1) + q)).squeeze(3)


class CoverageAttention(nn.Module):
    """Additive attention that sees its own history: See et al. (2017), eq. 11, the coverage
    model of Tu et al. (2016) in its simplest ("linguistic") form:

        c_t = sum_{t' < t} a_{t'}                       (coverage: attention received so far)
        e_{t,i} = v^T tanh(U h_i + W q_t + w_c c_{t,i})
        a_t = softmax(e_t)

    A source word already attended to gets a different score from one not yet translated, so the
    model can learn not to translate a word twice or skip one. The coverage is the decoder's
    per-hypothesis state (:class:`~nmt.contract.StatefulAttention`); every step depends on the
    last, so teacher forcing runs step by step with this attention.
    """

    contract = 1

    @dataclass(frozen=True)
    class Options:
        attention_size: int | None = None  # None: the query (decoder hidden) size

        def __post_init__(self) -> None:
            if self.attention_size is not None and self.attention_size < 1:
                from nmt.errors import NmtError

                raise NmtError(f"coverage attention_size must be at least 1, got {self.attention_size}.")

    def __init__(self, query_size: int, key_size: int, options: Options | None = None) -> None:
        super().__init__()
        size = (options or self.Options()).attention_size or query_size
        self.query_size, self.key_size = query_size, key_size
        self.key_proj = nn.Linear(key_size, size, bias=False)
        self.query_proj = nn.Linear(query_size, size, bias=False)
        self.coverage_proj = nn.Linear(1, size, bias=False)  # w_c
        self.energy = nn.Linear(size, 1, bias=False)

    def precompute(self, keys: Tensor) -> Tensor:
        return self.key_proj(keys)

    def initial_state(self, keys: Tensor, mask: Tensor) -> Tensor:
        return keys.new_zeros(mask.shape)

    def step(self, query: Tensor, keys: Tensor, cache: Tensor, mask: Tensor,
             state: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """query (batch, query_size), state: coverage (batch, src_len) -> context, weights and
        the coverage after this step."""
        energy = torch.tanh(cache + self.query_proj(query).unsqueeze(1)
                            + self.coverage_proj(state.unsqueeze(2)))
        scores = self.energy(energy).squeeze(2).masked_fill(~mask, torch.finfo(cache.dtype).min)
        weights = torch.softmax(scores, dim=-1)
        return torch.bmm(weights.unsqueeze(1), keys).squeeze(1), weights, state + weights

    def forward(self, query: Tensor, keys: Tensor, cache: Tensor,
                mask: Tensor) -> tuple[Tensor, Tensor]:
        """The first step's attention (nothing covered yet)."""
        context, weights, _ = self.step(query, keys, cache, mask, self.initial_state(keys, mask))
        return context, weights
