"""The three computations an exported model consists of, as torch modules written for tracing.

Search needs an encoder pass once per batch, a decoder step once per output piece, and the
output layer's rows for a batch's shortlist once per batch. Each is one graph:

``EncoderGraph``   src (batch, src_len) int64, src_lengths (batch,) int64 ->
                   keys (batch, src_len, key_size), cache (batch, src_len, ...), mask (batch,
                   src_len) bool, initial decoder state: state_0..state_{n-1} (layers, batch,
                   hidden) [, feed (batch, hidden) with input feeding] [, attention_state
                   (batch, ...) with a stateful attention such as coverage]
``StepGraph``      prev (rows,) int64, keys, cache, mask (one row per sentence; rows =
                   sentences x beam, a sentence's beams adjacent), output_weight (width,
                   hidden), output_bias (width,), state_* [, feed] [, attention_state] ->
                   log_probs (rows, width), attention (rows, src_len), next_state_*
                   [, next_feed] [, next_attention_state]
``OutputRowsGraph`` vocab (width,) int64 sorted target ids -> output_weight (width, hidden),
                   output_bias (width,): the output layer cut to a shortlist; all ids give the
                   whole vocabulary.

The encoder must not pack sequences (a graph has no PackedSequence), so it runs each direction
over the padded batch and uses the lengths as masks: the forward direction reads the padded
rows as they are (padding comes after every real piece, so it cannot change their states) and
takes each row's final state at position ``length - 1``; the backward direction reads each row
reversed *within its length*, ``x'[b, t] = x[b, length_b - 1 - t]`` for ``t < length_b``
(padding stays at the end), and its outputs are put back by the same permutation, which is its
own inverse. That gives the packed kernel's states exactly. Built-in cells run as one ONNX
LSTM/GRU/RNN operator per layer and direction; any other cell is traced for one step and run
in a scripted, masked loop (an ONNX ``Loop``), which works when its step is traceable.
"""

from __future__ import annotations

from typing import List

import torch
from torch import Tensor, nn

from nmt.cells import GRUCell, LSTMCell, RNNCell
from nmt.contract import BatchedAttention, DecoderState, EncoderOutput, Memory, supports
from nmt.recurrent import RecurrentStack

_KERNELS = {LSTMCell: torch.lstm, GRUCell: torch.gru, RNNCell: torch.rnn_tanh}


def reverse_within(x: Tensor, lengths: Tensor) -> Tensor:
    """x (batch, time, features) -> each row's first ``length`` steps in reverse order, the
    padded steps left in place. Applying it twice gives ``x`` back."""
    time = torch.arange(x.size(1), device=x.device).unsqueeze(0)  # (1, time)
    last = lengths.unsqueeze(1) - 1  # (batch, 1)
    index = torch.where(time <= last, last - time, time)  # (batch, time)
    return x.gather(1, index.unsqueeze(2).expand(-1, -1, x.size(2)))


def at_last(x: Tensor, lengths: Tensor) -> Tensor:
    """x (batch, time, features) -> (batch, features): each row at position ``length - 1``."""
    index = (lengths - 1).view(-1, 1, 1).expand(-1, 1, x.size(2))
    return x.gather(1, index).squeeze(1)


class _FusedDirection(nn.Module):
    """One built-in cell over a whole padded sequence with the fused operator (ONNX LSTM, GRU
    or RNN): x (batch, time, input) -> outputs (batch, time, hidden). States past a row's length
    are garbage; the caller masks them."""

    def __init__(self, cell: nn.Module) -> None:
        super().__init__()
        self.cell = cell
        self.kernel = _KERNELS[type(cell)]

    def forward(self, x: Tensor) -> Tensor:
        h0 = x.new_zeros(1, x.size(0), self.cell.hidden_size)
        hx = (h0, h0) if isinstance(self.cell, LSTMCell) else h0
        out = self.kernel(x, hx, self.cell.flat_weights(), True, 1, 0.0, False, False, True)[0]
        return out


class _StackedStep(nn.Module):
    """A cell's step with its state parts stacked into one tensor (parts, batch, hidden), so
    that a scripted loop can carry it whatever the number of parts."""

    def __init__(self, cell: nn.Module) -> None:
        super().__init__()
        self.cell = cell

    def forward(self, x: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        y, new = self.cell(x, tuple(state.unbind(0)))
        return y, torch.stack(list(new))


class _MaskedLoop(nn.Module):
    """The generic time loop for a plugin cell, compiled by TorchScript into an ONNX Loop:
    x (batch, time, input), valid (batch, time) bool, state (parts, batch, hidden) ->
    outputs (batch, time, hidden), zero at padding, and the state after each row's last piece
    (a padded step keeps the state it was given)."""

    def __init__(self, step: torch.jit.ScriptModule) -> None:
        super().__init__()
        self.step = step

    def forward(self, x: Tensor, valid: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        outputs: List[Tensor] = []
        for t in range(x.size(1)):
            y, new = self.step(x[:, t], state)
            keep = valid[:, t]
            state = torch.where(keep.view(1, -1, 1), new, state)
            outputs.append(y * keep.unsqueeze(1).to(y.dtype))
        return torch.stack(outputs, 1), state


class _LoopDirection(nn.Module):
    """A plugin cell over a whole padded sequence: its step, traced once here (tracing cannot
    nest inside the export's own trace), inside a scripted loop."""

    def __init__(self, cell: nn.Module, input_size: int) -> None:
        super().__init__()
        example = torch.randn(2, input_size)
        zeros = torch.stack(list(cell.initial_state(2, example.device, example.dtype)))
        # The initial state must not depend on the batch beyond its size (zeros, or a learnt
        # vector broadcast): one row stands for all.
        self.register_buffer("start", zeros[:, :1], persistent=False)
        traced = torch.jit.trace(_StackedStep(cell), (example, zeros), check_trace=False)
        self.loop = torch.jit.script(_MaskedLoop(traced))

    def forward(self, x: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
        start = self.start.expand(-1, x.size(0), -1)
        return self.loop(x, valid, start)


class MaskedStack(nn.Module):
    """The encoder's recurrent stack without packing (see module doc): x (batch, time, input),
    lengths (batch,) -> outputs (batch, time, directions * hidden), zero at padding, and the
    top layer's final output-like state (h), its directions side by side (batch, directions *
    hidden): the encoder's summary."""

    def __init__(self, stack: RecurrentStack, input_size: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList()
        for i, layer in enumerate(stack.layers):
            size = input_size if i == 0 else stack.output_size
            self.layers.append(nn.ModuleList(
                _FusedDirection(cell) if type(cell) in _KERNELS else _LoopDirection(cell, size)
                for cell in layer))

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        valid = torch.arange(x.size(1), device=x.device).unsqueeze(0) < lengths.unsqueeze(1)
        finals: list[Tensor] = []
        for layer in self.layers:
            outputs, finals = [], []
            for d, run in enumerate(layer):
                inputs = reverse_within(x, lengths) if d == 1 else x
                if isinstance(run, _FusedDirection):
                    out = run(inputs)
                    final = at_last(out, lengths)
                else:
                    out, state = run(inputs, valid)
                    final = state[0]
                out = out * valid.unsqueeze(2).to(out.dtype)
                outputs.append(reverse_within(out, lengths) if d == 1 else out)
                finals.append(final)
            x = torch.cat(outputs, dim=2) if len(outputs) > 1 else outputs[0]
        return x, torch.cat(finals, dim=1) if len(finals) > 1 else finals[0]


class MaskedEncoder(nn.Module):
    """The built-in RNN encoder's forward pass (eval mode) without packed sequences: equal to
    ``encoder(src, lengths)``, which the tests hold it to, padded batches included."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.embedding = encoder.embedding
        self.rnn = MaskedStack(encoder.rnn, encoder.embedding.embedding_dim)

    def forward(self, src: Tensor, lengths: Tensor) -> EncoderOutput:
        mask = src != self.embedding.padding_idx
        states, summary = self.rnn(self.embedding(src), lengths)
        return EncoderOutput(states=states, mask=mask, summary=summary)


class EncoderGraph(nn.Module):
    """src (batch, src_len), src_lengths (batch,) -> keys, cache, mask, state_* [, feed]: the
    encoder pass plus everything search computes once per batch from it (see module doc)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        self.encoder, self.decoder = MaskedEncoder(encoder), decoder

    def forward(self, src: Tensor, src_lengths: Tensor) -> tuple[Tensor, ...]:
        encoded = self.encoder(src, src_lengths)
        memory = self.decoder.memory(encoded)
        return (memory.keys, memory.cache, memory.mask,
                *flat_state(self.decoder.initial_state(encoded), self.decoder.input_feeding))


def flat_state(state: DecoderState, feeding: bool) -> tuple[Tensor, ...]:
    """A decoder state as the graphs pass it: the rnn parts, then feed (with input feeding),
    then the attention's carried value (when it has one)."""
    return (*state.rnn, *((state.feed,) if feeding else ()),
            *(() if state.attention is None else (state.attention,)))


class StepGraph(nn.Module):
    """One decoder step over ``rows = sentences x beam`` hypotheses against one memory row per
    sentence, scoring the output rows it is given (see module doc).

    An attention with only the per-query contract (no ``attend_all``) would be called once per
    beam in a Python loop that tracing unrolls for one beam size; for it the graph repeats each
    sentence's memory row for its beams first (a Gather whose index follows the input sizes),
    so the decoder attends row by row and any beam size works."""

    def __init__(self, decoder: nn.Module, parts: int, attention_state: bool) -> None:
        super().__init__()
        self.decoder, self.parts, self.attention_state = decoder, parts, attention_state
        self.per_row = not supports(decoder.attention, BatchedAttention)

    def forward(self, prev: Tensor, keys: Tensor, cache: Tensor, mask: Tensor,
                output_weight: Tensor, output_bias: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        feeding = self.decoder.input_feeding
        rest = list(state[self.parts :])
        current = DecoderState(rnn=tuple(state[: self.parts]),
                               feed=rest.pop(0) if feeding else None,
                               attention=rest.pop(0) if self.attention_state else None)
        if self.per_row:
            beam = prev.size(0) // keys.size(0)
            index = torch.arange(prev.size(0), device=prev.device) // beam
            keys, cache, mask = keys.index_select(0, index), cache.index_select(0, index), \
                mask.index_select(0, index)
        memory = Memory(keys, cache, mask, output_weight, output_bias)
        log_probs, weights, new = self.decoder.step(prev, current, memory)
        return (log_probs, weights, *flat_state(new, feeding))


class OutputRowsGraph(nn.Module):
    """vocab (width,) sorted target ids -> the output layer's weight (width, hidden) and bias
    (width,) rows for them: a shortlist's output layer, cut once per batch."""

    def __init__(self, output: nn.Linear) -> None:
        super().__init__()
        self.output = output

    def forward(self, vocab: Tensor) -> tuple[Tensor, Tensor]:
        bias = self.output.bias
        if bias is None:
            bias = self.output.weight.new_zeros(self.output.weight.size(0))
        return self.output.weight.index_select(0, vocab), bias.index_select(0, vocab)
