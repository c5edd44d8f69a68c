"""The wait-k policy (Ma et al. 2019, STACL): read k source pieces, then write one target token
per source piece read, each step seeing only the source read so far.

Training (prefix-to-prefix): :func:`readable` gives, per target step, how much source that
step may attend to; the trainer runs :class:`PrefixToPrefix`, which hands it to the decoder's
``forward_prefix``.

Streaming: one stream is a :class:`WaitKState` value, advanced by :func:`read` (push source
pieces through the incremental encoder, O(1) work per piece) and :func:`write` (one greedy
target token over what has been read). The policy itself (when to read, when to write) is the
caller's: wait-k reads k pieces, then alternates write and read, then writes until EOS once the
source is complete. Nothing is stored on the model, so one model serves many streams.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import Tensor, nn

from nmt.contract import EncoderOutput, IncrementalEncoder, PrefixDecoder, supports
from nmt.errors import NmtError


def readable(k: int, src_lengths: Tensor, tgt_len: int) -> Tensor:
    """k >= 1, src_lengths (batch,) -> (batch, tgt_len) long: how many source pieces target step
    t (the one predicting target token t, 0-based) may read, ``min(t + k, src_len)``.

    Ma et al. (2019), eq. 4: g_wait-k(t) = min(k + t - 1, |x|) for 1-based t; with 0-based t the
    step reads source positions 0 .. t + k - 1.
    """
    steps = torch.arange(tgt_len, dtype=torch.long) + k
    return torch.minimum(steps.unsqueeze(0), src_lengths.to(torch.long).cpu().unsqueeze(1))


def sample_k(wait_k: int, multi: bool, seed: int, step: int, batch: int) -> int:
    """The k of one training batch: ``wait_k``, or with ``multi`` (Elbayad et al. 2020, multi-path
    training) uniform in 1..wait_k, drawn from (seed, step, batch) alone so that a resumed run
    draws the same k as an uninterrupted one and torch's random state is left alone. ``batch``
    is the batch's place in the update's whole group, not in one rank's share, so that the same
    group draws the same k whether one process accumulates it or several share it."""
    if not multi:
        return wait_k
    return random.Random(f"wait-k:{seed}:{step}:{batch}").randint(1, wait_k)


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

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor, k: int,
                vocab: Tensor | None = None) -> Tensor:
        """src (batch, src_len), src_lengths (batch,), tgt_in (batch, tgt_len), k >= 1 -> logits
        (batch, tgt_len, vocab), target step t having read ``min(t + k, src_len)`` pieces;
        ``vocab`` as in :meth:`nmt.model.Seq2Seq.forward`."""
        encoded = self.model.encoder(src, src_lengths)
        schedule = readable(k, src_lengths, tgt_in.size(1)).to(src.device)
        if vocab is None:
            return self.model.decoder.forward_prefix(tgt_in, encoded, schedule)
        return self.model.decoder.forward_prefix(tgt_in, encoded, schedule, vocab=vocab)


# -- streaming -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitKState:
    """One stream of a wait-k translation, as a value: every function returns a new one.

    encoder: the encoder's stream state (:meth:`IncrementalEncoder.start_stream`'s value);
    states: (1, read, output_size) the encoder states of every source piece read so far;
    decoder: the decoder's state after the last write (None before the first one);
    written: the target ids written so far (no BOS; the EOS when it came); finished: True once
    EOS has been written.
    """

    encoder: Any
    states: Tensor
    decoder: Any = None
    written: tuple[int, ...] = ()
    finished: bool = False

    @property
    def read(self) -> int:
        """How many source pieces have been read."""
        return self.states.size(1)


def start(model: nn.Module, device: torch.device | str = "cpu") -> WaitKState:
    """An empty stream for ``model`` (a Seq2Seq in eval mode whose encoder offers
    :class:`~nmt.contract.IncrementalEncoder`, e.g. trained with ``training.wait_k``)."""
    encoder = model.encoder
    if not supports(encoder, IncrementalEncoder):
        raise NmtError(f"this model's encoder ({type(encoder).__name__}) cannot read a stream piece "
                       "by piece (no IncrementalEncoder; a bidirectional encoder never can): "
                       "streaming wait-k needs a model trained with model.bidirectional: false.")
    device = torch.device(device)
    dtype = next(model.parameters()).dtype
    with torch.inference_mode():
        stream = encoder.start_stream(1, device, dtype)
    return WaitKState(encoder=stream, states=torch.zeros(1, 0, encoder.output_size, device=device,
                                                         dtype=dtype))


def read(model: nn.Module, state: WaitKState, new_ids: list[int] | Tensor) -> WaitKState:
    """Push source pieces ``new_ids`` (n ids, n >= 0; no BOS/EOS, as the tokenizer encodes them)
    into the stream: the encoder runs over these n pieces only, from the carried state."""
    ids = torch.as_tensor(new_ids, dtype=torch.long, device=state.states.device).reshape(1, -1)
    if ids.size(1) == 0:
        return state
    with torch.inference_mode():
        new_states, stream = model.encoder.extend(state.encoder, ids)
        states = torch.cat([state.states, new_states.to(state.states.dtype)], dim=1)
    return replace(state, encoder=stream, states=states)


def write(model: nn.Module, state: WaitKState, *, bos: int, eos: int, max_len: int,
          pad: int = 0, min_length: int = 1) -> tuple[WaitKState, int | None]:
    """One greedy decoding step over the source read so far -> (new state, the token written),
    or (state, None) when the stream had already finished.

    Chooses as :func:`nmt.search.beam_search` with ``beam=1`` does: never pad or BOS, no EOS
    before ``min_length`` tokens, and EOS when ``max_len - 1`` tokens have been written (so
    ``max_len`` counts the EOS). Writing EOS finishes the stream. The decoder's memory is
    rebuilt from the read states at each write (attention reads all of them anyway); with
    ``model.decoder_init: zero`` the first state depends on nothing read, as in training.
    """
    if state.finished:
        return state, None
    if state.read == 0:
        raise NmtError("wait-k write before any source piece was read: read at least one first.")
    decoder, states = model.decoder, state.states
    with torch.inference_mode():
        mask = torch.ones(states.shape[:2], dtype=torch.bool, device=states.device)
        # The summary of a unidirectional encoder is its top layer's last output: the last
        # state read. Only a bridge or `last` init reads it, which wait-k training forbids.
        encoded = EncoderOutput(states=states, mask=mask, summary=states[:, -1])
        memory = decoder.memory(encoded)
        dec_state = decoder.initial_state(encoded) if state.decoder is None else state.decoder
        prev = torch.tensor([state.written[-1] if state.written else bos], device=states.device)
        log_probs, _, dec_state = decoder.step(prev, dec_state, memory)
        scores = log_probs[0].clone()
        scores[[pad, bos]] = float("-inf")
        count = len(state.written)
        if count < min_length:
            scores[eos] = float("-inf")
        token = eos if count + 1 >= max_len else int(scores.argmax())
    return replace(state, decoder=dec_state, written=(*state.written, token),
                   finished=token == eos), token
