"""Local attention with predicted alignment, "local-p" (Luong et al. 2015, section 3.2).

At each target step the decoder predicts where in the source it is reading,

    p_t = (S - 1) * sigmoid(v_p^T tanh(W_p h_t))          (eq. 9; S = source length)

and attends only to a window ``[p_t - D, p_t + D]`` around it, favouring positions near p_t
with a Gaussian of standard deviation ``D / 2`` (eq. 10). Alignment scores are Luong's
"general" ``h_t^T W_a h_s``. Unlike the paper, the Gaussian is applied to the scores before the
softmax (a log-space prior), so the weights over the window sum to one as nmt's other attention
types do. Translation is mostly monotonic, so a predicted position is a useful inductive bias
for long sentences, and the window keeps far-away words from distracting the decoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from nmt.errors import NmtError


class LocalAttention(nn.Module):
    """Luong local-p attention; ``options.window`` is D, the half-width of the window in source
    tokens (``model.attention_options: {window: 5}``)."""

    contract = 1  # the nmt plugin contract this class was written for

    @dataclass(frozen=True)
    class Options:
        window: int = 10  # D: attend to [p_t - D, p_t + D]

        def __post_init__(self) -> None:
            if self.window < 1:
                raise NmtError(f"local attention needs a window of at least 1 token, got {self.window}.")

    def __init__(self, query_size: int, key_size: int, options: Options | None = None) -> None:
        super().__init__()
        self.query_size = query_size
        self.key_size = key_size
        self.window = (options or self.Options()).window
        self.key_proj = nn.Linear(key_size, query_size, bias=False)  # W_a
        self.position_hidden = nn.Linear(query_size, query_size, bias=False)  # W_p
        self.position_score = nn.Linear(query_size, 1)  # v_p (a bias lets it start anywhere)

    def precompute(self, keys: Tensor) -> Tensor:
        """keys (batch, src_len, key_size) -> W_a h_s (batch, src_len, query_size), once per sentence."""
        return self.key_proj(keys)

    def position(self, query: Tensor, mask: Tensor) -> Tensor:
        """The predicted source position p_t (batch, 1), between 0 and the last real token."""
        last = mask.sum(dim=-1, keepdim=True).to(query.dtype) - 1
        return last * torch.sigmoid(self.position_score(torch.tanh(self.position_hidden(query))))

    def forward(
        self, query: Tensor, keys: Tensor, cache: Tensor, mask: Tensor
    ) -> tuple[Tensor, Tensor]:
        """query (batch, query_size), keys (batch, src_len, key_size), cache from
        :meth:`precompute`, mask (batch, src_len) True at real tokens -> context
        (batch, key_size), weights (batch, src_len), zero outside the window and at padding."""
        scores = torch.bmm(cache, query.unsqueeze(2)).squeeze(2)
        positions = torch.arange(keys.size(1), device=keys.device, dtype=query.dtype)[None, :]
        distance = positions - self.position(query, mask)
        sigma = self.window / 2
        scores = scores - distance.square() / (2 * sigma * sigma)
        allowed = mask & (distance.abs() <= self.window)
        scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1)
        context = torch.bmm(weights.unsqueeze(1), keys).squeeze(1)
        return context, weights
