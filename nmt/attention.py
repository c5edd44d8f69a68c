"""Attention over encoder states: Bahdanau (additive) and Luong (dot, general).

Contract: ``precompute(keys, mask)`` runs once per source sentence and returns whatever the
per-step ``forward`` needs (here the projected keys), so nothing is cached on the module and
one model can serve many requests at once. ``forward(query, keys, cache, mask)`` returns the
context vector and the attention weights.

Shapes: keys (batch, src_len, key_size); mask (batch, src_len), True at real tokens;
query (batch, query_size); context (batch, key_size); weights (batch, src_len).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class _Attention(nn.Module):
    contract = 1

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        self.query_size = query_size
        self.key_size = key_size

    def precompute(self, keys: Tensor) -> Tensor:
        return keys

    def scores(self, query: Tensor, cache: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(
        self, query: Tensor, keys: Tensor, cache: Tensor, mask: Tensor
    ) -> tuple[Tensor, Tensor]:
        scores = self.scores(query, cache).masked_fill(~mask, torch.finfo(cache.dtype).min)
        weights = torch.softmax(scores, dim=-1)
        context = torch.bmm(weights.unsqueeze(1), keys).squeeze(1)
        return context, weights


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

    def scores(self, query: Tensor, cache: Tensor) -> Tensor:
        return torch.bmm(cache, query.unsqueeze(2)).squeeze(2)


class GeneralAttention(_Attention):
    """Luong et al. (2015), eq. 8 "general": score(h_t, h_s) = h_t^T W_a h_s.

    W_a h_s is computed once per sentence in ``precompute`` (keys projected to query size).
    """

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__(query_size, key_size)
        self.key_proj = nn.Linear(key_size, query_size, bias=False)

    def precompute(self, keys: Tensor) -> Tensor:
        return self.key_proj(keys)

    def scores(self, query: Tensor, cache: Tensor) -> Tensor:
        return torch.bmm(cache, query.unsqueeze(2)).squeeze(2)


class BahdanauAttention(_Attention):
    """Bahdanau et al. (2015), eq. 6 / appendix A.1.2: e = v^T tanh(W q + U h_s).

    U h_s is computed once per sentence in ``precompute``.
    """

    def __init__(self, query_size: int, key_size: int, attention_size: int | None = None) -> None:
        super().__init__(query_size, key_size)
        size = attention_size or query_size
        self.key_proj = nn.Linear(key_size, size, bias=False)
        self.query_proj = nn.Linear(query_size, size, bias=False)
        self.energy = nn.Linear(size, 1, bias=False)

    def precompute(self, keys: Tensor) -> Tensor:
        return self.key_proj(keys)

    def scores(self, query: Tensor, cache: Tensor) -> Tensor:
        return self.energy(torch.tanh(cache + self.query_proj(query).unsqueeze(1))).squeeze(2)
