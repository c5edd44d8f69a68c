"""The attentional recurrent decoder (Luong et al. 2015, with optional input feeding).

At each step: embed the previous token (concatenated with the previous attentional vector when
input feeding is on), advance the recurrent stack, attend over the encoder states with the top
hidden state as query, and combine ``tanh(W_c [h; context])`` into the attentional vector that
feeds the output layer. Everything per sentence (projected keys) is computed once in
:meth:`AttentionalRNNDecoder.memory` and carried in a value, never stored on the module.

For wait-k training (:class:`~nmt.contract.PrefixDecoder`) each teacher-forced step may read
only a prefix of the source: the same computation with one attention mask per target step.

An attention that carries a value between steps (:class:`~nmt.contract.StatefulAttention`,
e.g. coverage) keeps it in :attr:`DecoderState.attention`; every other attention leaves that
None and runs exactly as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import torch
from torch import Tensor, nn

from nmt.contract import (
    BatchedAttention,
    DecoderState,
    EncoderOutput,
    Memory,
    StatefulAttention,
    StepMaskedAttention,
    supports,
)
from nmt.recurrent import RecurrentStack

__all__ = ["AttentionalRNNDecoder", "DecoderState", "Memory"]


class AttentionalRNNDecoder(nn.Module):
    """An :class:`nmt.contract.Decoder` that also offers every decoder capability:
    :class:`~nmt.contract.RestrictableDecoder`, :class:`~nmt.contract.BeamSharingDecoder`,
    :class:`~nmt.contract.PrefixDecoder` and :class:`~nmt.contract.CandidateDecoder`."""

    contract = 1
    beams_share_memory = True  # step() accepts sentences x beam rows against per-sentence memory
    trains_on_candidates = True  # forward(..., vocab=) scores only the given output rows

    def __init__(
        self,
        vocab_size: int,
        embedding_size: int,
        hidden_size: int,
        num_layers: int,
        dropout: float,
        cell: Callable[[int, int], nn.Module],
        attention: Callable[[int, int], nn.Module],
        encoder_output_size: int,
        encoder_summary_size: int,
        input_feeding: bool = True,
        init: str = "bridge",
        embedding_dropout: float | None = None,
        padding_idx: int = 0,
    ) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.input_feeding = input_feeding
        self.init = init
        self.embedding = nn.Embedding(vocab_size, embedding_size, padding_idx=padding_idx)
        self.embedding_dropout = nn.Dropout(dropout if embedding_dropout is None else embedding_dropout)
        self.dropout = nn.Dropout(dropout)
        rnn_input = embedding_size + (hidden_size if input_feeding else 0)
        self.rnn = RecurrentStack(cell, rnn_input, hidden_size, num_layers, False, dropout)
        self.attention = attention(hidden_size, encoder_output_size)
        self.stateful_attention = supports(self.attention, StatefulAttention)
        self.combine = nn.Linear(hidden_size + encoder_output_size, hidden_size, bias=False)
        self.output = nn.Linear(hidden_size, vocab_size)
        self.n_parts = len(self.rnn.initial_state(1, torch.device("cpu"), torch.float32))
        if init == "bridge":  # each state part of each layer starts as tanh(W s + b)
            self.bridge = nn.ModuleList(
                nn.Linear(encoder_summary_size, num_layers * hidden_size) for _ in range(self.n_parts)
            )
        elif init == "last" and encoder_summary_size != hidden_size:
            from nmt.errors import NmtError

            raise NmtError(
                f"model.decoder_init 'last' copies the encoder's final state ({encoder_summary_size} "
                f"values) into the decoder ({hidden_size}): make the sizes equal or use 'bridge'."
            )

    def memory(self, encoded: EncoderOutput) -> Memory:
        return Memory(encoded.states, self.attention.precompute(encoded.states), encoded.mask)

    def restrict_vocabulary(self, memory: Memory, vocab: Tensor) -> Memory:
        """Make :meth:`step` score only the target ids ``vocab`` (sorted), in that order: the
        output layer's rows for them are cut out once per batch, not once per step."""
        weight, bias = self.output.weight, self.output.bias
        if callable(weight):  # a dynamically quantized layer: its float weights, once per batch
            weight, bias = weight().dequantize(), bias()
        vocab = vocab.to(weight.device)
        return replace(memory, output_weight=weight.index_select(0, vocab),
                       output_bias=None if bias is None else bias.index_select(0, vocab))

    def initial_state(self, encoded: EncoderOutput) -> DecoderState:
        summary = encoded.summary
        batch, layers = summary.size(0), self.rnn.num_layers
        if self.init == "bridge":
            rnn = tuple(
                torch.tanh(b(summary)).view(batch, layers, self.hidden_size).transpose(0, 1).contiguous()
                for b in self.bridge
            )
        elif self.init == "last":  # every layer and state part starts from the encoder's last state
            rnn = tuple(summary.unsqueeze(0).expand(layers, -1, -1).contiguous()
                        for _ in range(self.n_parts))
        else:
            rnn = self.rnn.initial_state(batch, summary.device, summary.dtype)
        feed = summary.new_zeros(batch, self.hidden_size)
        attention = (self.attention.initial_state(encoded.states, encoded.mask)
                     if self.stateful_attention else None)
        return DecoderState(rnn=rnn, feed=feed, attention=attention)

    def _advance(
        self, x: Tensor, state: DecoderState, memory: Memory
    ) -> tuple[Tensor, Tensor, DecoderState]:
        """x (batch, embedding) embedded previous token -> attentional vector (batch, hidden),
        weights (batch, src_len), state."""
        if self.input_feeding:
            x = torch.cat([x, self.dropout(state.feed)], dim=-1)
        h, rnn = self.rnn.step(x, state.rnn)
        if state.attention is None:
            context, weights = self._attend_step(h, memory)
            carried = None
        else:
            context, weights, carried = self._attend_stateful(h, memory, state.attention)
        vector = torch.tanh(self.combine(torch.cat([h, context], dim=-1)))
        return vector, weights, DecoderState(rnn=rnn, feed=vector, attention=carried)

    def step(
        self, prev: Tensor, state: DecoderState, memory: Memory
    ) -> tuple[Tensor, Tensor, DecoderState]:
        """One decoding step: prev (batch,) -> log-probabilities (batch, vocab), attention
        (batch, src_len), next state. With a restricted ``memory`` the vocabulary is its
        shortlist, normalised over those ids alone."""
        x = self.embedding_dropout(self.embedding(prev))
        vector, weights, state = self._advance(x, state, memory)
        if memory.output_weight is None:
            logits = self.output(vector)
        else:
            logits = nn.functional.linear(vector, memory.output_weight, memory.output_bias)
        return torch.log_softmax(logits.float(), dim=-1), weights, state

    def _attend_step(self, h: Tensor, memory: Memory) -> tuple[Tensor, Tensor]:
        """h (rows, hidden) -> context, weights. Beam search passes one memory row per sentence
        for ``rows = sentences x beam`` queries: the beams of a sentence then attend together
        in one product over its keys, instead of over a copy of them per beam."""
        sentences = memory.keys.size(0)
        if h.size(0) == sentences:
            return self.attention(h, memory.keys, memory.cache, memory.mask)
        context, weights = self._attend_all(h.view(sentences, h.size(0) // sentences, -1), memory)
        return context.flatten(0, 1), weights.flatten(0, 1)

    def _attend_stateful(self, h: Tensor, memory: Memory,
                         carried: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """A StatefulAttention step: h (rows, hidden), carried (rows, ...) -> context, weights,
        the next carried value. Each hypothesis has its own state, so with a memory row per
        sentence (beams sharing it) the rows are repeated for its beams first."""
        keys, cache, mask = memory.keys, memory.cache, memory.mask
        if h.size(0) != keys.size(0):
            rows = torch.arange(keys.size(0), device=h.device).repeat_interleave(
                h.size(0) // keys.size(0))
            keys, cache, mask = keys[rows], cache[rows], mask[rows]
        return self.attention.step(h, keys, cache, mask, carried)

    def _attend_all(self, queries: Tensor, memory: Memory,
                    step_masks: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """queries (batch, steps, hidden) -> context (batch, steps, key_size), weights (batch,
        steps, src_len); ``step_masks`` (batch, steps, src_len), when given, replaces
        ``memory.mask`` with one mask per query (wait-k training)."""
        batched = supports(self.attention, BatchedAttention)
        if step_masks is None and batched:
            return self.attention.attend_all(queries, memory.keys, memory.cache, memory.mask)
        if step_masks is not None and batched and supports(self.attention, StepMaskedAttention):
            return self.attention.attend_all(queries, memory.keys, memory.cache, step_masks)
        # A plugin attention with only the per-step contract: one query at a time.
        masks = [memory.mask] * queries.size(1) if step_masks is None else step_masks.unbind(1)
        steps = [self.attention(q, memory.keys, memory.cache, m)
                 for q, m in zip(queries.unbind(1), masks)]
        return torch.stack([c for c, _ in steps], dim=1), torch.stack([w for _, w in steps], dim=1)

    def forward(self, tgt_in: Tensor, encoded: EncoderOutput, vocab: Tensor | None = None) -> Tensor:
        """Teacher forcing: tgt_in (batch, tgt_len) -> logits (batch, tgt_len, vocab), or with
        ``vocab`` (sorted ids, (n,)) over those ids only: (batch, tgt_len, n)."""
        return self._teacher_force(tgt_in, encoded, None, vocab)

    def forward_prefix(self, tgt_in: Tensor, encoded: EncoderOutput, readable: Tensor,
                       vocab: Tensor | None = None) -> Tensor:
        """Prefix-to-prefix teacher forcing (Ma et al. 2019, sec. 3): tgt_in (batch, tgt_len),
        readable (batch, tgt_len) ints -> logits (batch, tgt_len, vocab), where target step t
        (the one that predicts target token t, 0-based) attends only to source positions
        ``0 .. readable[b, t] - 1``, and to real tokens only. Everything else is :meth:`forward`.
        """
        positions = torch.arange(encoded.mask.size(1), device=encoded.mask.device)
        step_masks = encoded.mask.unsqueeze(1) & (positions < readable.to(positions.device).unsqueeze(2))
        return self._teacher_force(tgt_in, encoded, step_masks, vocab)

    def _teacher_force(self, tgt_in: Tensor, encoded: EncoderOutput,
                       step_masks: Tensor | None, vocab: Tensor | None) -> Tensor:
        """tgt_in (batch, tgt_len) -> logits (batch, tgt_len, vocab); ``step_masks`` (batch,
        tgt_len, src_len) or None (every step reads ``encoded.mask``); ``vocab``: only those
        output rows (the others cost nothing, forward or backward)."""
        memory = self.memory(encoded)
        state = self.initial_state(encoded)
        # Embedded once for all steps: one lookup, and one (not one per step) dense gradient
        # of the embedding table in the backward pass.
        embedded = self.embedding_dropout(self.embedding(tgt_in))
        if self.input_feeding:  # each step needs the previous attentional vector: a step loop
            vectors = []
            for t, x in enumerate(embedded.unbind(1)):
                step_memory = memory if step_masks is None else replace(memory, mask=step_masks[:, t])
                vector, _, state = self._advance(x, state, step_memory)
                vectors.append(vector)
            vectors = torch.stack(vectors, dim=1)
        else:  # the recurrence sees only the targets: one fused call, then attention for all steps
            lengths = (tgt_in != self.embedding.padding_idx).sum(1).clamp(min=1)
            h, _ = self.rnn(embedded, lengths, state.rnn)
            if state.attention is None:
                context, _ = self._attend_all(h, memory, step_masks)
            else:  # each step reads the state the last one left: one step at a time
                contexts, carried = [], state.attention
                for t, query in enumerate(h.unbind(1)):
                    mask = memory.mask if step_masks is None else step_masks[:, t]
                    c, _, carried = self.attention.step(query, memory.keys, memory.cache, mask,
                                                        carried)
                    contexts.append(c)
                context = torch.stack(contexts, dim=1)
            vectors = torch.tanh(self.combine(torch.cat([h, context], dim=-1)))
        # One output projection for all steps: the largest matrix product, batched once.
        vectors = self.dropout(vectors)
        if vocab is None:
            return self.output(vectors)
        bias = self.output.bias
        return nn.functional.linear(vectors, self.output.weight.index_select(0, vocab),
                                    None if bias is None else bias.index_select(0, vocab))
