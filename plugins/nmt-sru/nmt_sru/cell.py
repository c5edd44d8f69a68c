"""The Simple Recurrent Unit (Lei et al. 2018, "Simple Recurrent Units for Highly Parallelizable
Recurrence", eqs. 1-3):

    f_t = sigmoid(W_f x_t + v_f * c_{t-1} + b_f)
    r_t = sigmoid(W_r x_t + v_r * c_{t-1} + b_r)
    c_t = f_t * c_{t-1} + (1 - f_t) * (W x_t)
    h_t = r_t * c_t + (1 - r_t) * x_t

Every matrix multiplies the *input* only; the recurrence is element-wise. So a whole sequence
needs one matrix product per layer and direction, followed by a cheap element-wise scan: that is
what :meth:`SRUCell.fused_sequence` does, and why SRU is fast without a custom kernel. When the
input and hidden sizes differ, the highway term ``x_t`` becomes a fourth projection ``W_h x_t``
(as the paper does for its first layer). The state is ``(c,)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

State = tuple[Tensor, ...]


class SRUCell(nn.Module):
    """One SRU layer in one direction; nmt stacks, masks and reverses it."""

    contract = 1  # the nmt plugin contract this class was written for

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.projects_highway = input_size != hidden_size
        blocks = 4 if self.projects_highway else 3  # candidate, forget, reset[, highway]
        self.weight = nn.Parameter(torch.empty(blocks * hidden_size, input_size))
        self.v = nn.Parameter(torch.empty(2, hidden_size))  # v_f, v_r
        self.bias = nn.Parameter(torch.zeros(2, hidden_size))  # b_f, b_r
        # Unit-variance pre-activations for unit-variance inputs (the paper's initialisation).
        nn.init.uniform_(self.weight, -math.sqrt(3.0 / input_size), math.sqrt(3.0 / input_size))
        nn.init.uniform_(self.v, -1.0 / math.sqrt(hidden_size), 1.0 / math.sqrt(hidden_size))

    def initial_state(self, batch: int, device: torch.device, dtype: torch.dtype) -> State:
        return (torch.zeros(batch, self.hidden_size, device=device, dtype=dtype),)

    def project(self, x: Tensor) -> Tensor:
        """The only matrix product: x (..., input) -> (..., blocks * hidden)."""
        return F.linear(x, self.weight)

    def gates(self, u: Tensor, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Split projected inputs into candidate, forget and reset pre-activations (biases
        added) and the highway term; works on one step or a whole sequence alike."""
        candidate, forget, reset, *highway = u.chunk(self.weight.size(0) // self.hidden_size, -1)
        return candidate, forget + self.bias[0], reset + self.bias[1], highway[0] if highway else x

    def output(self, reset: Tensor, skip: Tensor, c_prev: Tensor, c: Tensor) -> Tensor:
        """h = r * c + (1 - r) * skip, with r read from the previous state."""
        r = torch.sigmoid(reset + self.v[1] * c_prev)
        return skip + r * (c - skip)

    def forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """x (batch, input), state ((batch, hidden),) -> h (batch, hidden), (c,)."""
        candidate, forget, reset, skip = self.gates(self.project(x), x)
        c_prev = state[0]
        f = torch.sigmoid(forget + self.v[0] * c_prev)
        c = candidate + f * (c_prev - candidate)
        return self.output(reset, skip, c_prev, c), (c,)

    @classmethod
    def fused_sequence(
        cls,
        layers: Sequence[Sequence[SRUCell]],
        inputs: Tensor,
        lengths: Tensor,
        state: State,
        dropout: float,
        training: bool,
    ) -> tuple[Tensor, State]:
        """Whole sequences: one matrix product per layer and direction, then an element-wise scan.

        inputs (batch, time, input), lengths (batch,), state ((layers * directions, batch,
        hidden),) -> outputs (batch, time, directions * hidden), zero at padded steps, and the
        final state in the layout of ``state``. Same maths and dropout order as nmt's generic
        loop, so the two agree on the same weights.
        """
        time = inputs.size(1)
        valid = torch.arange(time, device=inputs.device)[None, :] < lengths.to(inputs.device)[:, None]
        directions = len(layers[0])
        finals: list[Tensor] = []
        x = inputs
        for i, layer in enumerate(layers):
            if i > 0:
                x = F.dropout(x, dropout, training)
            outputs = []
            for d, cell in enumerate(layer):
                # The matrix product and the output gate for the whole sequence at once; only
                # the forget gate and the cell state need a scan over time.
                candidate, forget, reset, skip = cell.gates(cell.project(x), x)
                c = state[0][i * directions + d]
                v_f = cell.v[0]
                steps = range(time - 1, -1, -1) if d == 1 else range(time)
                before: list[Tensor] = [c] * time
                after: list[Tensor] = [c] * time
                for t in steps:
                    before[t] = c
                    f = torch.sigmoid(forget[:, t] + v_f * c)
                    new_c = candidate[:, t] + f * (c - candidate[:, t])
                    c = torch.where(valid[:, t, None], new_c, c)
                    after[t] = c
                h = cell.output(reset, skip, torch.stack(before, 1), torch.stack(after, 1))
                outputs.append(h * valid[:, :, None])
                finals.append(c)
            x = torch.cat(outputs, dim=-1) if directions > 1 else outputs[0]
        return x, (torch.stack(finals),)
