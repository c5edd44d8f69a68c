"""The wait-k policy (Ma et al. 2019, STACL): read k source pieces, then write one target token
per source piece read, each step seeing only the source read so far.

Training (prefix-to-prefix): :func:`readable` gives, per target step, how much source that
step may attend to; the trainer hands it to the decoder's ``forward_prefix``.
"""

from __future__ import annotations

import random

import torch
from torch import Tensor, nn

from nmt.contract import IncrementalEncoder, PrefixDecoder, supports
from nmt.errors import NmtError


def readable(k: int, src_lengths: Tensor, tgt_len: int) -> Tensor:
    """k >= 1, src_lengths (batch,) -> (batch, tgt_len) long: how many source pieces target step
    t (the one predicting target token t, 0-based) may read, ``min(t + k, src_len)``.

    Ma et al. (2019), eq. 4: g_wait-k(t) = min(k + t - 1, |x|) for 1-based t; with 0-based t the
    step reads source positions 0 .. t + k - 1.
    """
    steps = torch.arange(tgt_len, dtype=torch.long) + k
    return torch.minimum(steps.unsqueeze(0), src_lengths.to(torch.long).cpu().unsqueeze(1))


def sample_k(wait_k: int, multi: bool, seed: int, step: int, batch: int, rank: int = 0) -> int:
    """The k of one training batch: ``wait_k``, or with ``multi`` (Elbayad et al. 2020, multi-path
    training) uniform in 1..wait_k, drawn from (seed, step, rank, batch) alone so that a resumed
    run draws the same k as an uninterrupted one and torch's random state is left alone."""
    if not multi:
        return wait_k
    return random.Random(f"wait-k:{seed}:{step}:{rank}:{batch}").randint(1, wait_k)


class PrefixToPrefix(nn.Module):
    """A model's teacher-forced pass under a wait-k schedule: what the trainer runs (and wraps
    for data-parallel training) instead of the model's own ``forward`` when ``training.wait_k``
    is set. It owns no parameters; ``model`` stays the thing that is saved.

    The encoder states of a prefix must equal those of the whole sentence (so one encoder pass
    serves every target step): nmt asks the encoder for :class:`~nmt.contract.IncrementalEncoder`
    and the decoder for :class:`~nmt.contract.PrefixDecoder`.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        encoder, decoder = model.encoder, model.decoder
        if not supports(encoder, IncrementalEncoder):
            raise NmtError(f"training.wait_k needs an encoder whose prefix states do not depend "
                           f"on later source pieces; {type(encoder).__name__} does not offer "
                           "IncrementalEncoder (the built-in rnn encoder does with "
                           "model.bidirectional: false).")
        if not supports(decoder, PrefixDecoder):
            raise NmtError(f"training.wait_k needs a decoder that can restrict each target step to "
                           f"a source prefix; {type(decoder).__name__} does not offer "
                           "PrefixDecoder (forward_prefix). Use model.decoder: rnn, or set "
                           "training.wait_k: 0.")
        self.model = model

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor, k: int) -> Tensor:
        """src (batch, src_len), src_lengths (batch,), tgt_in (batch, tgt_len), k >= 1 -> logits
        (batch, tgt_len, vocab), target step t having read ``min(t + k, src_len)`` pieces."""
        encoded = self.model.encoder(src, src_lengths)
        schedule = readable(k, src_lengths, tgt_in.size(1)).to(src.device)
        return self.model.decoder.forward_prefix(tgt_in, encoded, schedule)
