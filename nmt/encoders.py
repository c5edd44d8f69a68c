"""The recurrent encoder: embeddings, then a (bidirectional, multi-layer) stack of any cell.

A unidirectional one also encodes incrementally (:class:`nmt.contract.IncrementalEncoder`):
source pieces pushed a few at a time, the recurrent state carried between pushes, as wait-k
models read their input (Ma et al. 2019).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from nmt.contract import EncoderOutput, State
from nmt.errors import NmtError
from nmt.recurrent import RecurrentStack

__all__ = ["EncoderOutput", "RNNEncoder"]


class RNNEncoder(nn.Module):
    """Embeds source tokens and runs them through a recurrent stack over packed sequences.

    ``incremental`` (the :class:`~nmt.contract.IncrementalEncoder` flag) is True exactly when
    the stack is unidirectional.
    """

    contract = 1
    incremental = True  # the class can; an instance built bidirectional switches it off

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int,
        hidden_size: int,
        num_layers: int,
        bidirectional: bool,
        dropout: float,
        cell: Callable[[int, int], nn.Module],
        embedding_dropout: float | None = None,
        padding_idx: int = 0,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=padding_idx)
        self.dropout = nn.Dropout(dropout if embedding_dropout is None else embedding_dropout)
        self.rnn = RecurrentStack(cell, embedding_size, hidden_size, num_layers, bidirectional, dropout)
        self.output_size = self.rnn.output_size
        self.summary_size = self.rnn.output_size
        self.incremental = not bidirectional

    def forward(self, src: Tensor, lengths: Tensor) -> EncoderOutput:
        """src (batch, src_len) token ids, lengths (batch,) -> :class:`EncoderOutput`."""
        mask = src != self.embedding.padding_idx
        states, final = self.rnn(self.dropout(self.embedding(src)), lengths)
        return EncoderOutput(states=states, mask=mask, summary=self._summary(final))

    def _summary(self, final: State) -> Tensor:
        # The first state component is the output-like one (h for LSTM/GRU) by the cell contract.
        top = final[0][-self.rnn.directions :]  # (directions, batch, hidden): last layer
        return top.transpose(0, 1).reshape(top.size(1), -1)

    def start_stream(self, batch: int, device: torch.device, dtype: torch.dtype) -> State:
        """The recurrent state of ``batch`` streams that have read nothing yet: each part
        (layers, batch, hidden). A plain tuple of tensors, carried by the caller."""
        self._check_incremental()
        return self.rnn.initial_state(batch, device, dtype)

    def extend(self, stream: State, ids: Tensor) -> tuple[Tensor, State]:
        """ids (batch, n) the next n pieces of every stream -> their states (batch, n,
        output_size) and the advanced stream state.

        O(n) work: the stack runs over the new pieces only, from the carried state, so a
        stream of pushes gives the states of one whole-prefix :meth:`forward` (the recurrence
        is the same; only where it pauses differs).
        """
        self._check_incremental()
        lengths = torch.full((ids.size(0),), ids.size(1), dtype=torch.long)
        return self.rnn(self.dropout(self.embedding(ids)), lengths, stream)

    def _check_incremental(self) -> None:
        if not self.incremental:
            raise NmtError("a bidirectional encoder cannot encode a stream piece by piece: its "
                           "backward direction starts from the end of the sentence. Set "
                           "model.bidirectional: false to train a model that can.")
