"""The one table of component kinds: everything nmt knows about each kind, in one place.

Per kind: the name ``nmt.contracts.check`` and ``nmt.registry.get`` take, the role a model
records in checkpoints, the entry-point group, the config keys naming the component and its
options, the protocol of :mod:`nmt.contract` it must honour, the optional capabilities it may
offer, the arguments nmt builds it with, its probe and its ``nmt plugin new`` template.
The registry, the contract checks, the model builder and the scaffold all read this table.

Light on purpose (no torch): the command line reads it at start-up.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nmt import contract, probes


@dataclass(frozen=True)
class Constructor:
    """How nmt builds a component: these positional arguments, these keywords always, the
    ``optional`` keywords only when the constructor names them (or takes ``**kwargs``), and
    ``options=`` when the class declares ``Options``."""

    positional: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()

    def arguments(self, cls: type, values: dict[str, Any], options: Any = None) -> tuple[list, dict]:
        """The ``(args, kwargs)`` for ``cls`` from ``values`` (every name above -> its value)."""
        args = [values[name] for name in self.positional]
        kwargs = {name: values[name] for name in self.keywords}
        kwargs.update({name: values[name] for name in self.optional if takes(cls, name)})
        if options is not None:
            kwargs["options"] = options
        return args, kwargs

    def describe(self) -> str:
        parts = [*self.positional, *(f"{k}=" for k in self.keywords),
                 *(f"[{k}=]" for k in self.optional)]
        return ", ".join(parts)


def takes(cls: type, name: str) -> bool:
    """Whether ``cls(...)`` accepts the keyword ``name``."""
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return True
    return any((p.name == name and p.kind is not p.POSITIONAL_ONLY) or p.kind is p.VAR_KEYWORD
               for p in params)


@dataclass(frozen=True)
class Kind:
    name: str  # what check(), registry.get() and `nmt plugins` call it: "cells"
    role: str  # what a model records in nmt.json and `nmt plugin new` takes: "cell"
    group: str  # the entry-point group: "nmt.cells"
    config_key: str  # the config key naming the component: "model.cell"
    options_key: str | None  # the config key of its options: "model.cell_options"
    protocol: type
    capabilities: tuple[type, ...]
    constructor: Constructor | None  # None: built by the class itself (tokenizers: train/load)
    probe: Callable[[type], str | None] | None
    template: str | None  # the `nmt plugin new` template (nmt.scaffold_templates), if any


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("cells", "cell", "nmt.cells", "model.cell", "model.cell_options",
         contract.Cell, (contract.FusedCell, contract.OwnsInit),
         Constructor(positional=("input_size", "hidden_size")), probes.cell, "cell"),
    Kind("encoders", "encoder", "nmt.encoders", "model.encoder", "model.encoder_options",
         contract.Encoder, (contract.IncrementalEncoder, contract.OwnsInit),
         Constructor(keywords=("vocab_size", "embedding_size", "hidden_size", "num_layers",
                               "bidirectional", "dropout", "embedding_dropout", "cell")),
         probes.encoder, None),
    Kind("decoders", "decoder", "nmt.decoders", "model.decoder", "model.decoder_options",
         contract.Decoder,
         (contract.RestrictableDecoder, contract.BeamSharingDecoder, contract.PrefixDecoder,
          contract.CandidateDecoder, contract.OwnsInit),
         Constructor(keywords=("vocab_size", "embedding_size", "hidden_size", "num_layers",
                               "dropout", "embedding_dropout", "cell", "attention",
                               "encoder_output_size", "encoder_summary_size"),
                     # RNN-only settings (model.input_feeding, model.decoder_init): a decoder
                     # that has no use for them leaves them out of its constructor.
                     optional=("input_feeding", "init")),
         probes.decoder, None),
    Kind("attention", "attention", "nmt.attention", "model.attention", "model.attention_options",
         contract.Attention,
         (contract.BatchedAttention, contract.StepMaskedAttention, contract.StatefulAttention,
          contract.OwnsInit),
         Constructor(positional=("query_size", "key_size")), probes.attention, "attention"),
    Kind("tokenizers", "tokenizer", "nmt.tokenizers", "tokenizer.type", None,
         contract.Tokenizer, (), None, None, "tokenizer"),
)}

BY_ROLE: dict[str, Kind] = {k.role: k for k in KINDS.values()}
MODEL_ROLES: tuple[str, ...] = ("cell", "encoder", "decoder", "attention")
"""The roles whose components :func:`nmt.model.build_model` assembles (options under model.)."""


def kind(name: str) -> Kind:
    """The kind called ``name`` ("cells"), or a user-facing error listing the kinds."""
    from nmt.errors import NmtError

    if name not in KINDS:
        raise NmtError(f"unknown component kind {name!r}; kinds are: {', '.join(KINDS)}")
    return KINDS[name]
