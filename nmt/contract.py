"""The plugin contract as code: what a plugin author imports and writes against.

This module holds the shared value types (:data:`State`, :class:`EncoderOutput`,
:class:`Memory`, :class:`DecoderState`), one :class:`typing.Protocol` per kind of component
(:class:`Cell`, :class:`Encoder`, :class:`Decoder`, :class:`Attention`, :class:`Tokenizer`)
and one per optional capability (:class:`FusedCell`, :class:`BatchedAttention`,
:class:`StepMaskedAttention`, :class:`IncrementalEncoder`, :class:`RestrictableDecoder`,
:class:`BeamSharingDecoder`, :class:`PrefixDecoder`, :class:`CandidateDecoder`,
:class:`StatefulAttention`, :class:`OwnsInit`). nmt asks whether
a component offers a capability through :func:`supports` alone, so the list of capabilities is
declared here and nowhere else.

Checking a class against these protocols (contract version, methods, constructor, a probe on
tiny tensors) is :mod:`nmt.contracts`; which protocol belongs to which entry-point group and
config key is the table in :mod:`nmt.kinds`.

It imports no torch (tensor types are annotations only), so nmt's command line can read the
contract without paying for torch at start-up.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

    import torch
    from torch import Tensor

CONTRACT_VERSION = 1
"""The version this nmt implements. A component class declares the one it was written for as a
literal (``contract = 1``); additions that leave existing plugins working keep the number."""

SPECIAL_IDS: dict[str, int] = {"pad_id": 0, "unk_id": 1, "bos_id": 2, "eos_id": 3}
"""Every tokenizer's special ids: models, batching and search rely on these values."""

# -- shared value types --------------------------------------------------------------------------

State = tuple["Tensor", ...]
"""A cell's recurrent state: one or more tensors, each (batch, hidden_size); the first is the
output-like part (h for LSTM and GRU)."""


@dataclass
class EncoderOutput:
    """What every encoder hands to a decoder.

    states: (batch, src_len, output_size), zero at padding; mask: (batch, src_len), True at real
    tokens; summary: (batch, summary_size), a fixed-size view of the sentence for the decoder's
    initial state.
    """

    states: Tensor
    mask: Tensor
    summary: Tensor


@dataclass
class Memory:
    """Encoder states prepared for attention, read by every decoding step.

    keys (batch, src_len, key_size); cache: what the attention's ``precompute`` returned, batch
    first; mask (batch, src_len). ``output_weight``/``output_bias``: a shortlist's rows of the
    output layer (see :class:`RestrictableDecoder`); None scores the whole vocabulary.
    """

    keys: Tensor
    cache: Tensor
    mask: Tensor
    output_weight: Tensor | None = None
    output_bias: Tensor | None = None

    def select(self, index: Tensor) -> Memory:
        """Keep or repeat rows of the batch (beam expansion, finished sentences leaving); a
        shortlist restriction is kept."""
        return replace(self, keys=self.keys.index_select(0, index),
                       cache=self.cache.index_select(0, index), mask=self.mask.index_select(0, index))


@dataclass
class DecoderState:
    """A recurrent decoder's state: ``rnn`` parts, each (layers, batch, hidden), ``feed``
    (batch, hidden), the last attentional vector, and ``attention``, what a
    :class:`StatefulAttention` carries from step to step (reordered with the beams)."""

    rnn: State
    feed: Tensor
    # A StatefulAttention's value (batch first, e.g. coverage (batch, src_len)); None otherwise.
    attention: Tensor | None = None

    def select(self, index: Tensor) -> DecoderState:
        """Reorder rows, e.g. to follow the beams that survived a search step."""
        return replace(
            self,
            rnn=tuple(part.index_select(1, index) for part in self.rnn),
            feed=self.feed.index_select(0, index),
            attention=None if self.attention is None else self.attention.index_select(0, index),
        )


# -- one protocol per kind -----------------------------------------------------------------------
# Methods listed here are required (nmt checks that the class has them before building anything);
# annotated attributes are set by the constructor and checked by the probe on an instance.


@runtime_checkable
class Cell(Protocol):
    """One time step of one recurrent layer in one direction; nmt runs it over sequences.

    Built as ``cell(input_size, hidden_size)`` (plus ``options=`` when the class declares
    ``Options``), once per layer and direction.
    """

    contract: ClassVar[int]

    def initial_state(self, batch: int, device: torch.device, dtype: torch.dtype) -> State:
        """A non-empty tuple of (batch, hidden_size) tensors; any values (zeros are usual)."""

    def forward(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """x (batch, input_size) -> output (batch, hidden_size), new state of the same shapes."""


@runtime_checkable
class Encoder(Protocol):
    """Source ids to :class:`EncoderOutput`. Built with keyword arguments (see nmt.kinds)."""

    contract: ClassVar[int]
    output_size: int
    summary_size: int

    def forward(self, src: Tensor, lengths: Tensor) -> EncoderOutput:
        """src (batch, src_len) ids, 0 at padding; lengths (batch,) in batch order, each >= 1."""


@runtime_checkable
class Decoder(Protocol):
    """Target ids and an :class:`EncoderOutput` to scores. Built with keyword arguments."""

    contract: ClassVar[int]

    def memory(self, encoded: EncoderOutput) -> Any:
        """Once per batch: what every step reads; must offer ``select(index)`` (like Memory)."""

    def initial_state(self, encoded: EncoderOutput) -> Any:
        """The first decoder state; must offer ``select(index)`` (like DecoderState)."""

    def step(self, prev: Tensor, state: Any, memory: Any) -> tuple[Tensor, Tensor, Any]:
        """prev (batch,) ids -> log-probabilities (batch, vocab) float32, attention weights
        (batch, src_len), next state."""

    def forward(self, tgt_in: Tensor, encoded: EncoderOutput) -> Tensor:
        """Teacher forcing: tgt_in (batch, tgt_len) -> logits (batch, tgt_len, vocab)."""


@runtime_checkable
class Attention(Protocol):
    """Stateless per step. Built as ``attention(query_size, key_size)`` (plus ``options=``)."""

    contract: ClassVar[int]

    def precompute(self, keys: Tensor) -> Tensor:
        """Once per sentence: keys (batch, src_len, key_size) -> one tensor, batch first."""

    def forward(self, query: Tensor, keys: Tensor, cache: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """query (batch, query_size), mask (batch, src_len) True at real tokens -> context
        (batch, key_size), weights (batch, src_len), exactly zero where mask is False."""


@runtime_checkable
class Tokenizer(Protocol):
    """Text to ids and back; never sees tensors. Uses :data:`SPECIAL_IDS` as class attributes."""

    contract: ClassVar[int]
    pad_id: ClassVar[int]
    unk_id: ClassVar[int]
    bos_id: ClassVar[int]
    eos_id: ClassVar[int]
    vocab_size: int

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int, min_frequency: int = 2) -> Tokenizer:
        """Learn a vocabulary of at most ``vocab_size`` ids, specials included."""

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        """Read what :meth:`save` wrote; raise NmtError for a file it cannot read."""

    def save(self, path: str | Path) -> None:
        """Write one text file (JSON preferred), never a pickle."""

    def encode(self, text: str) -> list[int]:
        """Ids without BOS/EOS."""

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """:meth:`encode` for many texts."""

    def decode(self, ids: list[int]) -> str:
        """Text, leaving special ids out."""

    def pieces(self, ids: list[int]) -> list[str]:
        """One readable string per id."""


# -- optional capabilities -----------------------------------------------------------------------


@runtime_checkable
class FusedCell(Protocol):
    """A cell class with a whole-sequence path over the same weights; nmt prefers it.

    It must give the single step's outputs and final state (the contract probe compares them in
    eval mode); see docs/plugins.md for dropout and lengths.
    """

    @classmethod
    def fused_sequence(cls, layers: Sequence[Sequence[Cell]], inputs: Tensor, lengths: Tensor,
                       state: State, dropout: float, training: bool) -> tuple[Tensor, State]:
        """inputs (batch, time, input), lengths (batch,) unsorted, state parts (layers *
        directions, batch, hidden) -> outputs (batch, time, directions * hidden), zero at
        padded steps, and the final state in the layout of ``state``."""


@runtime_checkable
class BatchedAttention(Protocol):
    """Attention that takes many queries at once; without it nmt calls ``forward`` per step."""

    def attend_all(self, queries: Tensor, keys: Tensor, cache: Tensor,
                   mask: Tensor) -> tuple[Tensor, Tensor]:
        """queries (batch, steps, query_size) -> context (batch, steps, key_size), weights
        (batch, steps, src_len)."""


@runtime_checkable
class StepMaskedAttention(Protocol):
    """``step_masks = True``: ``attend_all`` also takes a mask (batch, steps, src_len), one per
    query, as wait-k training needs (each target step reads a longer source prefix). Without it
    nmt calls ``forward`` once per step with that step's (batch, src_len) mask."""

    step_masks: bool


@runtime_checkable
class IncrementalEncoder(Protocol):
    """``incremental = True``: source pieces can be pushed a few at a time, each push doing work
    for the new pieces only (never re-encoding the prefix), and the states of a prefix do not
    depend on what follows it, so they equal the whole-sentence pass's first states. Wait-k
    training and streaming translation (Ma et al. 2019) need both. A bidirectional encoder
    cannot offer it: its backward direction reads the sentence from its end."""

    incremental: bool

    def start_stream(self, batch: int, device: torch.device, dtype: torch.dtype) -> Any:
        """The state of ``batch`` empty streams: an opaque value (never stored on the module)."""

    def extend(self, stream: Any, ids: Tensor) -> tuple[Tensor, Any]:
        """ids (batch, n) the next n source pieces of every stream, n >= 1, no padding ->
        their states (batch, n, output_size) and the advanced stream state."""


@runtime_checkable
class RestrictableDecoder(Protocol):
    """A decoder that can score only a shortlist of target ids; without it the shortlist is
    ignored and every step scores the whole vocabulary."""

    def restrict_vocabulary(self, memory: Any, vocab: Tensor) -> Any:
        """A memory with which ``step`` scores only the sorted ids ``vocab`` (n,), log-softmax
        over those ids alone, columns in their order; ``select`` keeps the restriction."""


@runtime_checkable
class BeamSharingDecoder(Protocol):
    """``beams_share_memory = True``: ``step`` accepts ``sentences x beam`` state rows (a
    sentence's beams adjacent) against a memory of one row per sentence."""

    beams_share_memory: bool


@runtime_checkable
class OwnsInit(Protocol):
    """``owns_init = True``: the constructor's parameter initialisation is deliberate, and nmt's
    uniform ``model.init_range`` initialisation leaves this component's parameters alone unless
    the config sets ``model.init_range`` (see docs/plugins.md)."""

    owns_init: bool


@runtime_checkable
class PrefixDecoder(Protocol):
    """Teacher forcing in which each target step reads only a prefix of the source: the
    prefix-to-prefix training of wait-k models (Ma et al. 2019, STACL). nmt trains a model with
    ``training.wait_k`` only when its decoder offers this."""

    def forward_prefix(self, tgt_in: Tensor, encoded: EncoderOutput, readable: Tensor) -> Tensor:
        """tgt_in (batch, tgt_len), readable (batch, tgt_len) ints -> logits (batch, tgt_len,
        vocab), target step t attending only to the source positions ``< readable[:, t]`` (and
        the real tokens of ``encoded.mask``). Each row of ``readable`` is at least 1."""


@runtime_checkable
class StatefulAttention(Protocol):
    """Attention that carries a value from one target step to the next: coverage (Tu et al.
    2016; See et al. 2017), the sum of past attention weights that tells the scorer which source
    words are already translated, or location-aware attention (Chorowski et al. 2015). The
    decoder keeps the value in :attr:`DecoderState.attention`, so beam search reorders it with
    the hypotheses; attention without this capability carries nothing and costs nothing more.
    ``forward`` (the stateless call) must equal ``step`` from ``initial_state``."""

    def initial_state(self, keys: Tensor, mask: Tensor) -> Tensor:
        """keys (batch, src_len, key_size), mask (batch, src_len) -> the value before the first
        target step, one tensor with the batch first (e.g. zeros (batch, src_len))."""

    def step(self, query: Tensor, keys: Tensor, cache: Tensor, mask: Tensor,
             state: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """As ``forward``, reading the carried ``state`` -> context, weights, the next state."""


@runtime_checkable
class CandidateDecoder(Protocol):
    """``trains_on_candidates = True``: ``forward`` (and ``forward_prefix``, when offered) take
    ``vocab=`` (sorted target ids, (n,)) and return logits over those ids alone, (batch,
    tgt_len, n), columns in their order: training's per-batch output vocabulary (Jean et al.
    2015, ``training.output_candidates``) without computing the other rows."""

    trains_on_candidates: bool


CAPABILITIES: tuple[type, ...] = (FusedCell, BatchedAttention, StepMaskedAttention,
                                  IncrementalEncoder, RestrictableDecoder, BeamSharingDecoder,
                                  PrefixDecoder, CandidateDecoder, StatefulAttention, OwnsInit)


def methods(protocol: type) -> tuple[str, ...]:
    """The methods a protocol requires, in declaration order."""
    return tuple(name for name, value in vars(protocol).items()
                 if not name.startswith("_")
                 and (inspect.isfunction(value) or isinstance(value, (classmethod, staticmethod))))


def flags(protocol: type) -> tuple[str, ...]:
    """The annotated attributes a protocol declares (ClassVar ones included)."""
    return tuple(name for name in vars(protocol).get("__annotations__", {}) if not name.startswith("_"))


def supports(obj: Any, capability: type) -> bool:
    """Whether ``obj`` (a component class or instance) offers ``capability``, one of
    :data:`CAPABILITIES`: its methods are callable and its flags are True.

    Use this instead of ``getattr`` probing, so that a capability means the same everywhere
    (``supports(model.decoder, RestrictableDecoder)``); an instance may switch a flag off.
    """
    if capability not in CAPABILITIES:
        raise ValueError(f"{capability!r} is not an optional capability; see nmt.contract.CAPABILITIES")
    return (all(callable(getattr(obj, name, None)) for name in methods(capability))
            and all(getattr(obj, name, False) is True for name in flags(capability)))
