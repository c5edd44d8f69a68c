"""Wait-k models (Ma et al. 2019): prefix-to-prefix training, the incremental encoder, and the
streaming read/write steps of nmt.waitk."""

from __future__ import annotations

import pytest
import torch
from conftest import micro_config

from nmt import Translator, config, waitk
from nmt.config import ModelConfig
from nmt.contract import IncrementalEncoder, PrefixDecoder, supports
from nmt.errors import NmtError
from nmt.model import build_model
from nmt.training.trainer import train


def uni_model(cell: str = "lstm", input_feeding: bool = True, layers: int = 1, seed: int = 0):
    torch.manual_seed(seed)
    cfg = ModelConfig(cell=cell, embedding_size=8, encoder_hidden_size=12, encoder_layers=layers,
                      bidirectional=False, decoder_hidden_size=10, decoder_init="zero",
                      input_feeding=input_feeding, dropout=0.0)
    return build_model(cfg, 20, 20)[0].eval()


def waitk_config(**training):
    values = micro_config().to_dict()
    values["model"].update(bidirectional=False, decoder_init="zero")
    values["training"].update(training)
    return config.from_dict(values)


# -- configuration -------------------------------------------------------------------------------

def test_wait_k_needs_a_unidirectional_encoder_and_a_zero_decoder_start():
    values = micro_config().to_dict()
    values["training"]["wait_k"] = 3
    with pytest.raises(NmtError, match="model.bidirectional: false"):
        config.from_dict(values)
    values["model"]["bidirectional"] = False
    with pytest.raises(NmtError, match="model.decoder_init: zero"):
        config.from_dict(values)
    values["model"]["decoder_init"] = "zero"
    assert config.from_dict(values).training.wait_k == 3
    with pytest.raises(NmtError, match="training.wait_k"):
        config.from_dict(values, ["training.wait_k=-1"])


def test_the_shipped_config_trains_multi_k_and_its_offline_twin_is_one_override_away():
    cfg = config.load("configs/bible-en-fr-waitk.yaml")
    assert cfg.data.corpus == "bible:en-fr" and cfg.training.wait_k_multi and cfg.training.wait_k > 1
    assert not cfg.model.bidirectional and cfg.model.decoder_init == "zero"
    assert config.load("configs/bible-en-fr-waitk.yaml", ["training.wait_k=0"]).training.wait_k == 0


def test_multi_k_draws_every_lag_reproducibly():
    draws = [waitk.sample_k(4, True, seed=1, step=s, batch=0) for s in range(200)]
    assert set(draws) == {1, 2, 3, 4}
    assert draws == [waitk.sample_k(4, True, seed=1, step=s, batch=0) for s in range(200)]
    assert waitk.sample_k(4, False, seed=1, step=7, batch=0) == 4


# -- the prefix mask -----------------------------------------------------------------------------

def test_the_schedule_reads_t_plus_k_pieces_capped_by_the_source():
    got = waitk.readable(2, torch.tensor([5, 3]), 5)
    assert got.tolist() == [[2, 3, 4, 5, 5], [2, 3, 3, 3, 3]]


@pytest.mark.parametrize("input_feeding", [True, False])
@pytest.mark.parametrize("step_masks", [True, False])  # False: the per-step fallback of plugins
def test_wait_1_step_0_sees_only_the_first_source_piece(input_feeding, step_masks):
    model = uni_model(input_feeding=input_feeding)
    model.decoder.attention.step_masks = step_masks
    prefix = waitk.PrefixToPrefix(model)
    src = torch.tensor([[4, 5, 6, 7, 8], [9, 10, 11, 12, 0]])
    lengths = torch.tensor([5, 4])
    changed = src.clone()
    changed[0, 1:], changed[1, 1:4] = 13, 14
    tgt_in = torch.tensor([[2, 4, 5, 6], [2, 7, 8, 0]])
    with torch.no_grad():
        a, b = prefix(src, lengths, tgt_in, 1), prefix(changed, lengths, tgt_in, 1)
        torch.testing.assert_close(a[:, 0], b[:, 0], atol=1e-6, rtol=0)  # read piece 0 only
        assert (a[:, 1] - b[:, 1]).abs().max() > 1e-4  # step 1 reads piece 1, which changed
        offline, offline_changed = model(src, lengths, tgt_in), model(changed, lengths, tgt_in)
        assert (offline[:, 0] - offline_changed[:, 0]).abs().max() > 1e-4
        # A lag longer than any source reads everything: the offline forward pass exactly.
        torch.testing.assert_close(prefix(src, lengths, tgt_in, 5), offline, atol=1e-6, rtol=0)


def test_wait_k_needs_the_capabilities():
    model = uni_model()
    assert supports(model.encoder, IncrementalEncoder) and supports(model.decoder, PrefixDecoder)
    model.encoder.incremental = False  # as a bidirectional or plugin encoder would be
    with pytest.raises(NmtError, match="IncrementalEncoder"):
        waitk.PrefixToPrefix(model)


# -- training ------------------------------------------------------------------------------------

def test_a_wait_k_micro_model_trains_saves_and_loads(tmp_path):
    cfg = waitk_config(wait_k=3, wait_k_multi=True, max_steps=4, eval_every=4)
    summary = train(cfg, tmp_path / "run", progress=False)
    assert summary["steps"] == 4 and summary["reason"] == "max_steps"
    translator = Translator.load(tmp_path / "run")
    assert translator.config.training.wait_k == 3
    assert isinstance(translator.translate(["In the beginning God created the heaven."])[0], str)
