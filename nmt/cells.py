"""Recurrent cells: the one-time-step contract and the built-in LSTM, GRU and Elman cells.

A cell computes one step, ``(x, state) -> (output, new_state)``; the framework
(:mod:`nmt.recurrent`) runs it over sequences with masking, layers, dropout and direction.
State is a tuple of tensors, each ``(batch, hidden_size)``: that one rule lets nmt mask padded
steps, reorder beams and bridge encoder to decoder for any cell without knowing its maths.

A cell class may also offer ``fused_sequence`` (see :class:`LSTMCell`), a whole-sequence kernel
over the same weights; nmt prefers it, so the generic loop and the fused path are
interchangeable and testable against each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from nmt.contract import State

__all__ = ["GRUCell", "LSTMCell", "RNNCell", "State"]


class _GatedCell(nn.Module):
    """Weights laid out exactly as in ``nn.LSTM``/``nn.GRU`` so that their fused kernels apply.

    The two projections are ``nn.Linear`` layers, so dynamic int8 quantization reaches the
    recurrent matrix products too; a quantized cell computes its gates from them explicitly.
    """

    contract = 1
    gates = 1
    state_size = 1  # number of tensors in the state tuple

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.ih = nn.Linear(input_size, self.gates * hidden_size)
        self.hh = nn.Linear(hidden_size, self.gates * hidden_size)
        bound = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def initial_state(self, batch: int, device: torch.device, dtype: torch.dtype) -> State:
        zeros = torch.zeros(batch, self.hidden_size, device=device, dtype=dtype)
        return tuple(zeros for _ in range(self.state_size))

    def flat_weights(self) -> list[Tensor]:
        return [self.ih.weight, self.hh.weight, self.ih.bias, self.hh.bias]

    @property
    def quantized(self) -> bool:
        return type(self.ih) is not nn.Linear

    @classmethod
    def fused_sequence(
        cls,
        layers: Sequence[Sequence[_GatedCell]],
        inputs: Tensor,
        lengths: Tensor,
        state: State,
        dropout: float,
        training: bool,
    ) -> tuple[Tensor, State]:
        """All layers and directions in one fused kernel call (oneDNN on CPU, cuDNN on GPU).

        inputs: (batch, time, input); lengths: (batch,) on CPU; state: tensors of
        (layers * directions, batch, hidden). Returns outputs (batch, time, directions * hidden),
        zero at padded steps, and the final state in the same layout as ``state``.
        """
        directions = len(layers[0])
        weights = [w for layer in layers for cell in layer for w in cell.flat_weights()]
        packed = nn.utils.rnn.pack_padded_sequence(
            inputs, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        order = packed.sorted_indices
        hx = tuple(s.index_select(1, order) for s in state) if order is not None else state
        out_data, *final = cls._kernel(
            packed.data, packed.batch_sizes, hx if cls.state_size > 1 else hx[0], weights,
            True, len(layers), dropout, training, directions == 2,
        )
        out = nn.utils.rnn.PackedSequence(
            out_data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices
        )
        outputs, _ = nn.utils.rnn.pad_packed_sequence(
            out, batch_first=True, total_length=inputs.size(1)
        )
        if packed.unsorted_indices is not None:
            final = [f.index_select(1, packed.unsorted_indices) for f in final]
        return outputs, tuple(final)


class LSTMCell(_GatedCell):
    """Long short-term memory (Hochreiter & Schmidhuber 1997), state ``(h, c)``."""

    gates = 4
    state_size = 2

    def forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        if self.quantized:
            i, f, g, o = (self.ih(x) + self.hh(state[0])).chunk(4, dim=1)
            c = torch.sigmoid(f) * state[1] + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        else:
            h, c = torch.lstm_cell(x, state, *self.flat_weights())
        return h, (h, c)

    @staticmethod
    def _kernel(data, batch_sizes, hx, weights, *flags):
        out, h, c = torch.lstm(data, batch_sizes, hx, weights, *flags)
        return out, h, c


class GRUCell(_GatedCell):
    """Gated recurrent unit (Cho et al. 2014), state ``(h,)``."""

    gates = 3

    def forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        if self.quantized:
            xr, xz, xn = self.ih(x).chunk(3, dim=1)
            hr, hz, hn = self.hh(state[0]).chunk(3, dim=1)
            r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
            h = (1 - z) * torch.tanh(xn + r * hn) + z * state[0]
        else:
            h = torch.gru_cell(x, state[0], *self.flat_weights())
        return h, (h,)

    @staticmethod
    def _kernel(data, batch_sizes, hx, weights, *flags):
        out, h = torch.gru(data, batch_sizes, hx, weights, *flags)
        return out, h


class RNNCell(_GatedCell):
    """Elman recurrence with tanh, state ``(h,)``: the baseline the gated cells improve on."""

    def forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        if self.quantized:
            h = torch.tanh(self.ih(x) + self.hh(state[0]))
        else:
            h = torch.rnn_tanh_cell(x, state[0], *self.flat_weights())
        return h, (h,)

    @staticmethod
    def _kernel(data, batch_sizes, hx, weights, *flags):
        out, h = torch.rnn_tanh(data, batch_sizes, hx, weights, *flags)
        return out, h
