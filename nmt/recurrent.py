"""Run any cell over sequences: layers, directions, dropout between layers, padded steps masked.

This is the framework half of the cell contract. Cells that offer ``fused_sequence`` run all
layers in one kernel call; every other cell goes through the generic loop here, which gives the
same outputs for the same weights (tests hold the two to each other).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from nmt.contract import FusedCell, State, supports


class RecurrentStack(nn.Module):
    """``layers`` x ``directions`` cells of one class, built as ``cell(input_size, hidden_size)``
    (a cell class, or one with its options bound).

    State layout (shared by the fused and the generic path): a tuple with one tensor per state
    component, each ``(layers * directions, batch, hidden)``, ordered layer-major as in
    ``nn.LSTM``.
    """

    def __init__(
        self,
        cell: Callable[[int, int], nn.Module],
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.directions = 2 if bidirectional else 1
        self.dropout = dropout
        self.layers = nn.ModuleList(
            nn.ModuleList(
                cell(input_size if i == 0 else hidden_size * self.directions, hidden_size)
                for _ in range(self.directions)
            )
            for i in range(num_layers)
        )
        # The generic loop can be forced (tests compare it against the fused kernel). The built
        # cell's class, not ``cell``: a class with options bound (a partial) has no attributes.
        self.use_fused = supports(type(self.layers[0][0]), FusedCell)

    @property
    def output_size(self) -> int:
        return self.hidden_size * self.directions

    def initial_state(self, batch: int, device: torch.device, dtype: torch.dtype) -> State:
        per_cell = [cell.initial_state(batch, device, dtype) for layer in self.layers for cell in layer]
        return tuple(torch.stack(parts) for parts in zip(*per_cell))

    def forward(
        self, inputs: Tensor, lengths: Tensor, state: State | None = None
    ) -> tuple[Tensor, State]:
        """inputs (batch, time, input), lengths (batch,) -> outputs (batch, time, dirs*hidden)
        (zero at padded steps) and the final state of every layer and direction."""
        if state is None:
            state = self.initial_state(inputs.size(0), inputs.device, inputs.dtype)
        if self.use_fused:
            cell_class = type(self.layers[0][0])
            return cell_class.fused_sequence(
                self.layers, inputs, lengths, state, self.dropout, self.training
            )
        return self._loop(inputs, lengths, state)

    def _loop(self, inputs: Tensor, lengths: Tensor, state: State) -> tuple[Tensor, State]:
        time = inputs.size(1)
        valid = torch.arange(time, device=inputs.device)[None, :] < lengths.to(inputs.device)[:, None]
        finals: list[State] = []
        x = inputs
        for i, layer in enumerate(self.layers):
            if i > 0:
                x = F.dropout(x, self.dropout, self.training)
            outputs = []
            for d, cell in enumerate(layer):
                s = tuple(part[i * self.directions + d] for part in state)
                steps = range(time - 1, -1, -1) if d == 1 else range(time)
                out = x.new_zeros(x.size(0), time, self.hidden_size)
                for t in steps:
                    y, new = cell(x[:, t], s)
                    keep = valid[:, t, None]
                    s = tuple(torch.where(keep, n, o) for n, o in zip(new, s))
                    out[:, t] = y * keep
                outputs.append(out)
                finals.append(s)
            x = torch.cat(outputs, dim=-1) if len(outputs) > 1 else outputs[0]
        return x, tuple(torch.stack(parts) for parts in zip(*finals))

    def step(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """One time step of a unidirectional stack: x (batch, input) -> (batch, hidden).

        The decoder with input feeding needs this: its next input depends on its last output.
        """
        new_parts: list[State] = []
        for i, layer in enumerate(self.layers):
            if i > 0:
                x = F.dropout(x, self.dropout, self.training)
            x, s = layer[0](x, tuple(part[i] for part in state))
            new_parts.append(s)
        return x, tuple(torch.stack(parts) for parts in zip(*new_parts))
