"""The recurrent encoder: embeddings, then a (bidirectional, multi-layer) stack of any cell."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from nmt.contract import EncoderOutput, State
from nmt.recurrent import RecurrentStack

__all__ = ["EncoderOutput", "RNNEncoder"]


class RNNEncoder(nn.Module):
    """Embeds source tokens and runs them through a recurrent stack over packed sequences."""

    contract = 1

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

    def forward(self, src: Tensor, lengths: Tensor) -> EncoderOutput:
        """src (batch, src_len) token ids, lengths (batch,) -> :class:`EncoderOutput`."""
        mask = src != self.embedding.padding_idx
        states, final = self.rnn(self.dropout(self.embedding(src)), lengths)
        return EncoderOutput(states=states, mask=mask, summary=self._summary(final))

    def _summary(self, final: State) -> Tensor:
        # The first state component is the output-like one (h for LSTM/GRU) by the cell contract.
        top = final[0][-self.rnn.directions :]  # (directions, batch, hidden): last layer
        return top.transpose(0, 1).reshape(top.size(1), -1)
