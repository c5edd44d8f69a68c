"""The encoder-decoder, assembled from registered components named in the config.

Each component the config names is loaded (contract-checked), its options validated and bound,
and built with the arguments the table of kinds (:mod:`nmt.kinds`) promises. Initialisation
rule: nmt draws every parameter uniformly in +-``model.init_range`` (0.1 when unset), except
the parameters of a component that owns its initialisation (``owns_init = True``), which keep
what its constructor set unless the config sets ``model.init_range`` itself; 0 keeps every
component's own initialisation.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from nmt import options, registry
from nmt.config import ModelConfig
from nmt.contract import DecoderState, EncoderOutput, Memory, OwnsInit, supports
from nmt.errors import NmtError
from nmt.kinds import BY_ROLE, MODEL_ROLES

DEFAULT_INIT_RANGE = 0.1


class Seq2Seq(nn.Module):
    """Encoder plus decoder. The model never sees text: ids in, scores out."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor,
                vocab: Tensor | None = None) -> Tensor:
        """src (batch, src_len), src_lengths (batch,), tgt_in (batch, tgt_len) -> logits
        (batch, tgt_len, vocab); with ``vocab`` (sorted ids, (n,)), over those ids only (a
        :class:`~nmt.contract.CandidateDecoder`'s per-batch output vocabulary)."""
        encoded = self.encoder(src, src_lengths)
        if vocab is None:
            return self.decoder(tgt_in, encoded)
        return self.decoder(tgt_in, encoded, vocab=vocab)

    def start(self, src: Tensor, src_lengths: Tensor) -> tuple[EncoderOutput, Memory, DecoderState]:
        """Encode once for search: returns what each decoding step needs."""
        encoded = self.encoder(src, src_lengths)
        return encoded, self.decoder.memory(encoded), self.decoder.initial_state(encoded)


@dataclass(frozen=True)
class Part:
    """One model component as the config asks for it: where it comes from, its class and its
    validated options (None when the class declares no ``Options``)."""

    component: registry.Component
    cls: type
    options: Any | None

    def factory(self) -> Any:
        """What builds it: the class, or the class with ``options=`` bound."""
        return self.cls if self.options is None else functools.partial(self.cls, options=self.options)


def resolve_parts(cfg: ModelConfig) -> dict[str, Part]:
    """Load every model component the config names and validate its options: a missing or
    broken plugin, or an unknown option, fails here, before any data work or tensor."""
    parts = {}
    for role in MODEL_ROLES:
        kind = BY_ROLE[role]
        component = registry.get(kind.name, getattr(cfg, role))
        cls = component.load()
        opts = options.resolve(cls, getattr(cfg, f"{role}_options"), kind.options_key,
                               f"{role} {component.name!r}")
        parts[role] = Part(component, cls, opts)
    return parts


def record_options(cfg: ModelConfig) -> None:
    """Check ``cfg``'s components and write their options back resolved (every default filled
    in), so the config a run saves records exactly what its components were built with."""
    for role, part in resolve_parts(cfg).items():
        setattr(cfg, f"{role}_options", options.as_dict(part.options))


def build_model(cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> tuple[Seq2Seq, dict]:
    """Build the model from registered components: ``model, provenance = build_model(cfg,
    src_vocab_size, tgt_vocab_size)``, provenance saying which distribution supplied each role."""
    parts = resolve_parts(cfg)
    values = dict(
        vocab_size=src_vocab_size, embedding_size=cfg.embedding_size,
        hidden_size=cfg.encoder_hidden_size, num_layers=cfg.encoder_layers,
        bidirectional=cfg.bidirectional, dropout=cfg.dropout,
        embedding_dropout=cfg.embedding_dropout, cell=parts["cell"].factory(),
    )
    encoder = _build("encoder", parts["encoder"], values)
    values.update(
        vocab_size=tgt_vocab_size, hidden_size=cfg.decoder_hidden_size,
        num_layers=cfg.decoder_layers, attention=parts["attention"].factory(),
        encoder_output_size=encoder.output_size, encoder_summary_size=encoder.summary_size,
        input_feeding=cfg.input_feeding, init=cfg.decoder_init,
    )
    decoder = _build("decoder", parts["decoder"], values)
    model = Seq2Seq(encoder, decoder)
    bound = DEFAULT_INIT_RANGE if cfg.init_range is None else cfg.init_range
    if bound > 0:
        _uniform_init(model, bound, keep_owned=cfg.init_range is None)
    if cfg.share_embeddings:
        _share(encoder, decoder, "embedding", "embedding", "model.share_embeddings")
    if cfg.tie_output:
        _share(decoder, decoder, "embedding", "output", "model.tie_output")
    provenance = {role: part.component.provenance for role, part in parts.items()}
    return model, provenance


def _build(role: str, part: Part, values: dict[str, Any]) -> nn.Module:
    """``part.cls`` built with the arguments its kind promises (checked by the contract)."""
    args, kwargs = BY_ROLE[role].constructor.arguments(part.cls, values, part.options)
    return part.cls(*args, **kwargs)


def _uniform_init(model: nn.Module, bound: float, keep_owned: bool) -> None:
    """Every parameter uniform in +-bound, in model order (so built-in models draw exactly the
    numbers they always did), skipping components that own their init when ``keep_owned``."""
    owned: set[int] = set()
    if keep_owned:
        for module in model.modules():
            if supports(type(module), OwnsInit):
                owned.update(id(p) for p in module.parameters())
    for p in model.parameters():
        if id(p) not in owned:
            nn.init.uniform_(p, -bound, bound)


def _share(source: nn.Module, target: nn.Module, source_name: str, target_name: str, key: str) -> None:
    """Make ``target.<target_name>.weight`` the very same tensor as ``source.<source_name>.weight``."""
    a = getattr(getattr(source, source_name, None), "weight", None)
    b = getattr(getattr(target, target_name, None), "weight", None)
    if a is None or b is None:
        raise NmtError(f"{key} needs components with '{source_name}' and '{target_name}' layers.")
    if a.shape != b.shape:
        hint = ("set tokenizer.joint: true" if key == "model.share_embeddings"
                else "make model.embedding_size equal to model.decoder_hidden_size")
        raise NmtError(f"{key}: the weights to share have shapes {tuple(a.shape)} and "
                       f"{tuple(b.shape)}; {hint}.")
    getattr(target, target_name).weight = a


def count_parameters(model: nn.Module) -> int:
    """Distinct parameters: a tied or shared matrix counts once."""
    return sum(p.numel() for p in model.parameters())
