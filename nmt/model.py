"""The encoder-decoder, assembled from registered components named in the config."""

from __future__ import annotations

from torch import Tensor, nn

from nmt import registry
from nmt.config import ModelConfig
from nmt.decoders import DecoderState, Memory
from nmt.encoders import EncoderOutput
from nmt.errors import NmtError


class Seq2Seq(nn.Module):
    """Encoder plus decoder. The model never sees text: ids in, scores out."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, src: Tensor, src_lengths: Tensor, tgt_in: Tensor) -> Tensor:
        """src (batch, src_len), src_lengths (batch,), tgt_in (batch, tgt_len) -> logits
        (batch, tgt_len, vocab)."""
        return self.decoder(tgt_in, self.encoder(src, src_lengths))

    def start(self, src: Tensor, src_lengths: Tensor) -> tuple[EncoderOutput, Memory, DecoderState]:
        """Encode once for search: returns what each decoding step needs."""
        encoded = self.encoder(src, src_lengths)
        return encoded, self.decoder.memory(encoded), self.decoder.initial_state(encoded)


def build_model(cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> tuple[Seq2Seq, dict]:
    """Build the model from registered components; also return which distribution supplied each."""
    parts = {role: registry.get(registry.ROLES[role], getattr(cfg, role))
             for role in ("cell", "encoder", "decoder", "attention")}
    cell = parts["cell"].load()
    encoder = parts["encoder"].load()(
        vocab_size=src_vocab_size,
        embedding_size=cfg.embedding_size,
        hidden_size=cfg.encoder_hidden_size,
        num_layers=cfg.encoder_layers,
        bidirectional=cfg.bidirectional,
        dropout=cfg.dropout,
        embedding_dropout=cfg.embedding_dropout,
        cell=cell,
    )
    decoder = parts["decoder"].load()(
        vocab_size=tgt_vocab_size,
        embedding_size=cfg.embedding_size,
        hidden_size=cfg.decoder_hidden_size,
        num_layers=cfg.decoder_layers,
        dropout=cfg.dropout,
        cell=cell,
        attention=parts["attention"].load(),
        encoder_output_size=encoder.output_size,
        encoder_summary_size=encoder.summary_size,
        input_feeding=cfg.input_feeding,
        init=cfg.decoder_init,
        embedding_dropout=cfg.embedding_dropout,
    )
    model = Seq2Seq(encoder, decoder)
    if cfg.init_range > 0:
        for p in model.parameters():
            nn.init.uniform_(p, -cfg.init_range, cfg.init_range)
    if cfg.share_embeddings:
        _share(encoder, decoder, "embedding", "embedding", "model.share_embeddings")
    if cfg.tie_output:
        _share(decoder, decoder, "embedding", "output", "model.tie_output")
    provenance = {role: comp.provenance for role, comp in parts.items()}
    return model, provenance


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
