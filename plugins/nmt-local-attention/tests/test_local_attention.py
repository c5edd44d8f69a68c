"""nmt-local-attention against the nmt attention contract.

Run after `pip install -e plugins/nmt-local-attention`.
"""

from __future__ import annotations

import pytest
import torch

from nmt import NmtError, registry
from nmt.config import ModelConfig
from nmt.contracts import check
from nmt.data.batching import collate
from nmt.model import build_model
from nmt.search import beam_search
from nmt.testing import copy_task_losses, tiny_config, train_and_translate
from nmt_local_attention import LocalAttention



@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_registered_through_its_entry_point_with_provenance():
    comp = registry.get("attention", "local")
    assert (comp.distribution, comp.version) == ("nmt-local-attention", "0.1.0")
    assert comp.load() is LocalAttention
    assert check("attention", LocalAttention) is None


def _inputs(lengths=(9, 4), key_size=6, query_size=5):
    torch.manual_seed(0)
    keys = torch.randn(len(lengths), max(lengths), key_size)
    mask = torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]
    return torch.randn(len(lengths), query_size), keys, mask


def test_shapes_and_weights_zero_at_padding_and_outside_the_window():
    query, keys, mask = _inputs(lengths=(30, 4))
    attention = LocalAttention(5, 6, LocalAttention.Options(window=3))
    context, weights = attention(query, keys, attention.precompute(keys), mask)
    assert context.shape == (2, 6) and weights.shape == (2, 30)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2))
    assert weights[1, 4:].abs().sum() == 0
    p = attention.position(query, mask)
    assert 0 <= p[0] <= 29 and 0 <= p[1] <= 3
    outside = (torch.arange(30)[None, :] - p).abs() > 3
    assert weights[outside].abs().sum() == 0


def test_weights_peak_at_the_predicted_position_and_it_learns():
    query, keys, mask = _inputs(lengths=(11, 11))
    attention = LocalAttention(5, 6, LocalAttention.Options(window=4))
    with torch.no_grad():
        attention.key_proj.weight.zero_()  # no content scores: only the Gaussian prior remains
        attention.position_score.bias.fill_(0.0)  # sigmoid(0) = 0.5: the middle, position 5
        attention.position_score.weight.zero_()
    _, weights = attention(query, keys, attention.precompute(keys), mask)
    assert weights.argmax(-1).tolist() == [5, 5]
    # The predicted position is trained through the Gaussian: gradients reach W_p and v_p.
    context, _ = attention(query, keys, attention.precompute(keys), mask)
    context.sum().backward()
    assert attention.position_score.bias.grad.abs().sum() > 0


def test_refuses_an_empty_window():
    with pytest.raises(NmtError, match="window of at least 1 token, got 0"):
        LocalAttention.Options(window=0)


def _model(vocab=14, **options):
    cfg = ModelConfig(attention="local", embedding_size=16, encoder_hidden_size=16,
                      decoder_hidden_size=32, dropout=0.0, attention_options=options)
    return build_model(cfg, vocab, vocab)


def test_the_window_is_a_component_option():
    """Set in a config under model.attention_options, checked like any config key."""
    assert _model(window=3)[0].decoder.attention.window == 3
    assert _model()[0].decoder.attention.window == 10
    with pytest.raises(NmtError, match=r"'model.attention_options.windw'. Did you mean "
                                       r"'model.attention_options.window'"):
        _model(windw=3)
    with pytest.raises(NmtError, match="model.attention_options.window' must be int"):
        _model(window="wide")
    with pytest.raises(NmtError, match="window of at least 1 token"):
        _model(window=0)


def test_padding_changes_no_translation():
    torch.manual_seed(1)
    model = _model()[0].eval()
    short, long = ([5, 6, 7], [8, 9]), ([5, 6, 7, 8, 9, 10, 11], [4, 5, 6, 7])
    alone, padded = collate([short], 0, 2, 3), collate([short, long], 0, 2, 3)
    with torch.no_grad():
        a = model(alone.src, alone.src_lengths, alone.tgt_in)
        b = model(padded.src, padded.src_lengths, padded.tgt_in)
    torch.testing.assert_close(b[0, : a.size(1)], a[0], atol=1e-5, rtol=1e-4)
    one = beam_search(model, alone.src, alone.src_lengths, beam=3, bos=2, eos=3,
                      max_lengths=torch.tensor([8]))
    two = beam_search(model, padded.src, padded.src_lengths, beam=3, bos=2, eos=3,
                      max_lengths=torch.tensor([8, 8]))
    assert one[0][0].tokens == two[0][0].tokens


def test_a_tiny_model_with_local_attention_learns_to_copy():
    losses = copy_task_losses(tiny_config(attention="local"))
    assert sum(losses[-5:]) < 0.75 * sum(losses[:5])  # chance level is ln(10) = 2.3


def test_trains_saves_loads_and_translates_through_the_cli(tmp_path):
    meta, out = train_and_translate(tmp_path, model={"attention": "local"})
    assert meta["components"]["attention"] == {
        "name": "local", "distribution": "nmt-local-attention", "version": "0.1.0"}
    assert len(out) == 2
