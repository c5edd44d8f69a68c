"""The plugin contract as code: one table of kinds, capabilities asked one way, constructors
checked and encoders and decoders probed before a model exists, component options, and the
rule that keeps a plugin's own initialisation. Plugins here are real installed distributions
(a dist-info on sys.path), built into real models."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from nmt import NmtError, config, contract, contracts, kinds, registry
from nmt.config import ModelConfig
from nmt.contract import (
    BeamSharingDecoder,
    FusedCell,
    OwnsInit,
    RestrictableDecoder,
    supports,
)
from nmt.data.batching import collate
from nmt.model import build_model, record_options
from nmt.search import beam_search
from test_plugins import _dist_info


@pytest.fixture
def install(tmp_path):
    """Install a distribution (its dist-info and modules) for one test; removed afterwards."""
    added, packages = [], []

    def install(distribution: str, entry_points: str, modules: dict[str, str]) -> None:
        site = tmp_path / distribution
        _dist_info(site, distribution, entry_points, modules)
        sys.path.insert(0, str(site))
        added.append(str(site))
        packages.extend(name.split("/")[0].removesuffix(".py") for name in modules)
        registry.components.cache_clear()

    yield install
    for site in added:
        sys.path.remove(site)
    for name in [m for m in sys.modules if m.split(".")[0] in packages]:
        del sys.modules[name]
    registry.components.cache_clear()


# -- one table, one contract module ------------------------------------------------------------

def test_one_table_says_everything_about_each_kind():
    from nmt.scaffold import KINDS as SCAFFOLD

    assert registry.GROUPS == {k.name: k.group for k in kinds.KINDS.values()}
    assert registry.ROLES == {"cell": "cells", "encoder": "encoders", "decoder": "decoders",
                              "attention": "attention", "tokenizer": "tokenizers"}
    assert kinds.BY_ROLE["attention"].config_key == "model.attention"
    assert kinds.BY_ROLE["attention"].options_key == "model.attention_options"
    assert kinds.BY_ROLE["tokenizer"].config_key == "tokenizer.type"
    assert set(SCAFFOLD) == {"cell", "attention", "tokenizer"}
    assert contracts.REQUIRED["decoders"] == ("memory", "initial_state", "step", "forward")
    assert contracts.REQUIRED["tokenizers"] == ("train", "load", "save", "encode",
                                                "encode_batch", "decode", "pieces")


def test_old_import_paths_name_the_contract_types():
    from nmt.cells import State
    from nmt.decoders import DecoderState, Memory
    from nmt.encoders import EncoderOutput

    assert (State, EncoderOutput, Memory, DecoderState) == (
        contract.State, contract.EncoderOutput, contract.Memory, contract.DecoderState)
    assert contracts.CONTRACT_VERSION == contract.CONTRACT_VERSION == 1


def test_the_contract_and_the_table_import_no_torch():
    """`nmt --help` reads the table (the scaffold's kinds): it must stay light."""
    code = ("import sys, nmt.contract, nmt.kinds, nmt.scaffold, nmt.registry; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_capabilities_are_asked_one_way():
    from nmt.attention import DotAttention
    from nmt.cells import LSTMCell
    from nmt.decoders import AttentionalRNNDecoder

    assert supports(LSTMCell, FusedCell) and supports(AttentionalRNNDecoder, RestrictableDecoder)
    assert supports(AttentionalRNNDecoder, BeamSharingDecoder)
    assert not supports(AttentionalRNNDecoder, OwnsInit) and not supports(DotAttention, FusedCell)
    decoder = build_model(ModelConfig(embedding_size=8, encoder_hidden_size=8,
                                      decoder_hidden_size=8), 12, 12)[0].decoder
    decoder.beams_share_memory = False  # an instance may switch a flag off
    assert not supports(decoder, BeamSharingDecoder)
    with pytest.raises(ValueError, match="not an optional capability"):
        supports(LSTMCell, contract.Cell)


# -- a decoder that is not recurrent ---------------------------------------------------------

BAG = '''\
import torch
from torch import nn

from nmt.contract import DecoderState, Memory


class BagDecoder(nn.Module):
    """No recurrence: the previous token's embedding is the attention query. It takes none of
    the RNN-only arguments (input_feeding, init)."""

    contract = 1

    def __init__(self, vocab_size, embedding_size, hidden_size, num_layers, dropout,
                 embedding_dropout, cell, attention, encoder_output_size, encoder_summary_size):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, hidden_size, padding_idx=0)
        self.attention = attention(hidden_size, encoder_output_size)
        self.output = nn.Linear(hidden_size + encoder_output_size, vocab_size)

    def memory(self, encoded):
        return Memory(encoded.states, self.attention.precompute(encoded.states), encoded.mask)

    def initial_state(self, encoded):
        return DecoderState(rnn=(), feed=encoded.summary.new_zeros(encoded.summary.size(0), 0))

    def scores(self, prev, memory):
        query = self.embedding(prev)
        context, weights = self.attention(query, memory.keys, memory.cache, memory.mask)
        return self.output(torch.cat([query, context], dim=-1)), weights

    def step(self, prev, state, memory):
        logits, weights = self.scores(prev, memory)
        return torch.log_softmax(logits.float(), dim=-1), weights, state

    def forward(self, tgt_in, encoded):
        memory = self.memory(encoded)
        return torch.stack([self.scores(t, memory)[0] for t in tgt_in.unbind(1)], dim=1)


class RawScores(BagDecoder):
    def step(self, prev, state, memory):
        logits, weights = self.scores(prev, memory)
        return logits, weights, state


class ClaimsSharing(BagDecoder):
    beams_share_memory = True


class ClaimsCandidates(BagDecoder):
    trains_on_candidates = True

    def forward(self, tgt_in, encoded, vocab=None):  # ignores vocab: all rows come back
        return super().forward(tgt_in, encoded)


class WrongConstructor(BagDecoder):
    def __init__(self, vocab_size, hidden, extra):
        super().__init__(vocab_size, hidden, hidden, 1, 0.0, None, None, None, hidden, hidden)
'''


@pytest.fixture
def bag(install):
    install("nmt-bag", "[nmt.decoders]\nbag = nmt_bag:BagDecoder\n", {"nmt_bag.py": BAG})
    import nmt_bag

    return nmt_bag


def test_a_decoder_without_rnn_arguments_is_probed_built_and_searched(bag):
    assert contracts.check("decoders", bag.BagDecoder) is None
    cfg = ModelConfig(decoder="bag", embedding_size=8, encoder_hidden_size=8, decoder_hidden_size=8)
    model, provenance = build_model(cfg, 12, 12)
    assert provenance["decoder"]["distribution"] == "nmt-bag"
    batch = collate([([5, 6, 7], [8, 9]), ([4, 5], [6])], 0, 2, 3)
    assert model(batch.src, batch.src_lengths, batch.tgt_in).shape == (2, 3, 12)
    found = beam_search(model.eval(), batch.src, batch.src_lengths, beam=2, bos=2, eos=3,
                        max_lengths=torch.tensor([4, 4]))
    assert all(len(hyps) == 1 for hyps in found)


def test_broken_decoders_are_refused_with_what_was_expected_and_what_came(bag):
    raw = contracts.check("decoders", bag.RawScores)
    assert "failed the decoders probe" in raw and "expected each row's logsumexp to be 0" in raw
    sharing = contracts.check("decoders", bag.ClaimsSharing)
    assert "beams_share_memory is True, but step(prev, state, memory) with 2 beams" in sharing
    candidates = contracts.check("decoders", bag.ClaimsCandidates)
    assert "trains_on_candidates is True, but forward(tgt_in, encoded, vocab=ids)" in candidates
    assert "expected (forward()[..., ids]) shape (2, 3, 4)" in candidates
    wrong = contracts.check("decoders", bag.WrongConstructor)
    assert "the decoder constructor does not fit what nmt passes — expected __init__(vocab_size=" in wrong
    assert "got __init__(vocab_size, hidden, extra)" in wrong
    assert "does not take embedding_size" in wrong and "requires hidden, extra" in wrong
    with pytest.raises(NmtError, match="decoders plugin 'raw' from nmt-bag 0.1.0 is broken: "):
        contracts.validated("decoders", "raw", bag.RawScores, "nmt-bag 0.1.0")


def test_broken_encoders_are_refused_before_a_model_exists():
    from nmt.encoders import RNNEncoder

    class LeaksPadding(RNNEncoder):
        def forward(self, src, lengths):
            out = super().forward(src, lengths)
            out.states = out.states + 1
            return out

    class NeedsPadding(RNNEncoder):
        def __init__(self, vocab_size, embedding_size, hidden_size, num_layers, bidirectional,
                     dropout, cell, embedding_dropout, padding_idx):
            super().__init__(vocab_size, embedding_size, hidden_size, num_layers, bidirectional,
                             dropout, cell, embedding_dropout, padding_idx)

    assert "states must be zero at padding — expected 0, got up to" in contracts.check(
        "encoders", LeaksPadding)
    assert "requires padding_idx, which nmt never passes" in contracts.check("encoders", NeedsPadding)
    assert contracts.check("encoders", RNNEncoder) is None


# -- component options -------------------------------------------------------------------------

def _tiny(**model) -> ModelConfig:
    return config.from_dict({"model": {"embedding_size": 8, "encoder_hidden_size": 8,
                                       "decoder_hidden_size": 12, **model}}).model


def test_bahdanau_attention_size_is_an_option():
    default = build_model(_tiny(attention="bahdanau"), 12, 12)[0].decoder.attention
    assert default.key_proj.out_features == 12  # the decoder size, as before the option
    cfg = config.from_dict({"model": {"attention": "bahdanau", "embedding_size": 8}},
                           ["model.attention_options.attention_size=5"]).model
    assert build_model(cfg, 12, 12)[0].decoder.attention.key_proj.out_features == 5


def test_options_are_checked_like_config_keys_and_recorded_resolved():
    with pytest.raises(NmtError, match=r"unknown config key 'model.attention_options.attention_sise'. "
                                       r"Did you mean 'model.attention_options.attention_size'"):
        build_model(_tiny(attention="bahdanau", attention_options={"attention_sise": 5}), 12, 12)
    with pytest.raises(NmtError, match="'model.attention_options.attention_size' must be int"):
        build_model(_tiny(attention="bahdanau", attention_options={"attention_size": "big"}), 12, 12)
    with pytest.raises(NmtError, match="'model.cell_options' sets forget_bias, but the cell 'lstm' "
                                       "takes no options"):
        build_model(_tiny(cell_options={"forget_bias": 1.0}), 12, 12)
    with pytest.raises(NmtError, match="model.attention_options' must be dict"):
        _tiny(attention_options=5)
    cfg = _tiny(attention="bahdanau")
    record_options(cfg)
    assert cfg.attention_options == {"attention_size": None} and cfg.cell_options == {}
    again = config.from_dict(yaml_round_trip(cfg))  # a checkpoint's config.yaml reads back
    assert again.model.attention_options == {"attention_size": None}


def yaml_round_trip(model: ModelConfig) -> dict:
    import yaml

    full = config.Config(model=model)
    return yaml.safe_load(full.to_yaml())


def test_nmt_plugins_rows_list_options_with_defaults_and_types():
    rows = {(r["kind"], r["name"]): r for r in registry.describe_all()}
    assert rows[("attention", "bahdanau")]["options"] == [
        {"name": "attention_size", "type": "int | None", "default": None}]
    assert rows[("cells", "lstm")]["options"] == []


# -- plugins keep what they set up -------------------------------------------------------------

JANET = '''\
import torch
from torch import nn


class JanetCell(nn.Module):
    """JANET (van der Westhuizen & Lasenby 2018): a forget gate only, chrono-initialised."""

    contract = 1
    owns_init = True  # the forget-gate biases below are deliberate: nmt must keep them

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.ih = nn.Linear(input_size, 2 * hidden_size)
        self.hh = nn.Linear(hidden_size, 2 * hidden_size, bias=False)
        with torch.no_grad():  # chrono init (Tallec & Ollivier 2018): forget bias log U(1, 9)
            self.ih.bias[:hidden_size].copy_(torch.empty(hidden_size).uniform_(1, 9).log())
            self.ih.bias[hidden_size:].zero_()

    def initial_state(self, batch, device, dtype):
        return (torch.zeros(batch, self.hidden_size, device=device, dtype=dtype),)

    def forward(self, x, state):
        f, c = (self.ih(x) + self.hh(state[0])).chunk(2, dim=-1)
        h = torch.sigmoid(f) * state[0] + (1 - torch.sigmoid(f - 1.0)) * torch.tanh(c)
        return h, (h,)
'''


def test_a_cell_that_owns_its_init_keeps_its_biases_unless_the_config_asks(install):
    install("nmt-janet", "[nmt.cells]\njanet = nmt_janet:JanetCell\n", {"nmt_janet.py": JANET})

    def build(**model):
        built = build_model(_tiny(cell="janet", decoder_hidden_size=8, **model), 12, 12)[0]
        cells = [m for m in built.modules() if type(m).__name__ == "JanetCell"]
        assert len(cells) == 3  # encoder forward and backward, decoder
        return built, [cell.ih.bias.detach() for cell in cells]

    model, biases = build()  # model.init_range unset: the cell's own init survives
    for bias in biases:
        assert (bias[8:] == 0).all() and bias[:8].min() >= 0 and bias[:8].max() > 0.5
    assert model.decoder.output.weight.abs().max() <= 0.1  # nmt's init for the rest, as before
    _, biases = build(init_range=0)  # nothing re-initialised
    assert all((bias[8:] == 0).all() for bias in biases)
    _, biases = build(init_range=0.1)  # the config asks for nmt's init everywhere
    for bias in biases:
        assert bias.abs().max() <= 0.1 and (bias[8:] != 0).any()


def test_training_refuses_an_unknown_option_before_reading_any_data(tmp_path):
    from nmt.training.trainer import train

    cfg = config.from_dict({"data": {"train": str(tmp_path / "missing.tsv")},
                            "model": {"attention": "bahdanau",
                                      "attention_options": {"size": 64}}})
    with pytest.raises(NmtError, match="unknown config key 'model.attention_options.size'. "
                                       "Valid keys here: attention_size"):
        train(cfg, tmp_path / "run", progress=False)
