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

@pytest.fixture(scope="module")
def waitk_run(tmp_path_factory):
    cfg = waitk_config(wait_k=3, wait_k_multi=True, max_steps=24, eval_every=12)
    out = tmp_path_factory.mktemp("waitk") / "run"
    summary = train(cfg, out, progress=False)
    assert summary["steps"] == 24 and summary["reason"] == "max_steps"
    return out


def test_a_wait_k_micro_model_trains_saves_and_loads(waitk_run):
    translator = Translator.load(waitk_run)
    assert translator.config.training.wait_k == 3
    assert isinstance(translator.translate(["In the beginning God created the heaven."])[0], str)


# -- the incremental encoder ---------------------------------------------------------------------

@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("chunks", [[1] * 7, [3, 1, 2, 1], [7]])
def test_pushing_pieces_gives_the_states_of_the_whole_prefix(cell, chunks):
    encoder = uni_model(cell, layers=2).encoder
    src = torch.tensor([[4, 9, 5, 17, 6, 11, 8], [12, 5, 13, 6, 14, 7, 3]])
    with torch.no_grad():
        whole = encoder(src, torch.tensor([7, 7]))
        stream, pushed, at = encoder.start_stream(2, torch.device("cpu"), torch.float32), [], 0
        for n in chunks:
            states, stream = encoder.extend(stream, src[:, at : at + n])
            assert states.shape == (2, n, encoder.output_size)
            pushed.append(states)
            at += n
            # After every push the states so far equal a whole pass over that prefix.
            prefix = encoder(src[:, :at], torch.tensor([at, at]))
            torch.testing.assert_close(torch.cat(pushed, 1), prefix.states, atol=1e-5, rtol=0)
    torch.testing.assert_close(torch.cat(pushed, 1), whole.states, atol=1e-5, rtol=0)
    torch.testing.assert_close(pushed[-1][:, -1], whole.summary, atol=1e-5, rtol=0)


def test_a_bidirectional_encoder_says_it_cannot_stream():
    cfg = ModelConfig(embedding_size=8, encoder_hidden_size=6, decoder_hidden_size=12)
    model = build_model(cfg, 20, 20)[0]
    assert not supports(model.encoder, IncrementalEncoder)
    with pytest.raises(NmtError, match="bidirectional"):
        model.encoder.start_stream(1, torch.device("cpu"), torch.float32)
    with pytest.raises(NmtError, match="model.bidirectional: false"):
        waitk.start(model)


# -- streaming -----------------------------------------------------------------------------------

def stream_translate(model, ids: list[int], k: int, max_len: int) -> list[int]:
    """The wait-k policy over nmt.waitk's steps: read k pieces, then write one per piece read,
    then write until EOS once the source is complete."""
    state, at = waitk.start(model), 0
    while not state.finished:
        if at < len(ids) and state.read < min(len(state.written) + k, len(ids)):
            state, at = waitk.read(model, state, ids[at : at + 1]), at + 1
            continue
        state, token = waitk.write(model, state, bos=2, eos=3, max_len=max_len)
        assert token is not None
    assert waitk.write(model, state, bos=2, eos=3, max_len=max_len) == (state, None)
    return list(state.written)


@pytest.mark.parametrize("cell,input_feeding,seed,scale", [("lstm", True, 3, 0.6),
                                                           ("gru", False, 0, 1.0)])
def test_a_stream_that_reads_everything_first_writes_what_greedy_search_does(
        cell, input_feeding, seed, scale):
    from nmt.search import beam_search

    model = uni_model(cell, input_feeding=input_feeding, layers=2, seed=seed)
    for p in model.parameters():  # larger weights than the init: varied, non-trivial outputs
        torch.nn.init.uniform_(p, -scale, scale)
    sentences = [[4, 9, 5, 17, 6], [12, 5, 13], [7, 8, 9, 10, 11, 12, 13, 14]]
    max_len, seen = 12, set()
    for ids in sentences:
        expected = beam_search(model, torch.tensor([ids]), torch.tensor([len(ids)]), beam=1, bos=2,
                               eos=3, max_lengths=torch.tensor([max_len]))[0][0].tokens
        written = stream_translate(model, ids, k=len(ids), max_len=max_len)
        assert written[-1] == 3 and written[:-1] == expected
        seen.update(expected)
    assert len(seen) > 2  # not a constant output that any two paths would agree on


def test_a_trained_wait_k_model_streams_like_greedy_search(waitk_run):
    from nmt.search import beam_search

    translator = Translator.load(waitk_run)
    model, src_tok, tgt_tok = translator.model, translator.src_tokenizer, translator.tgt_tokenizer
    lines = ["And God said, Let there be light: and there was light.",
             "In the beginning God created the heaven and the earth.", "Jesus wept."]
    for line in lines:
        ids = src_tok.encode(line)
        expected = beam_search(model, torch.tensor([ids]), torch.tensor([len(ids)]), beam=1,
                               bos=tgt_tok.bos_id, eos=tgt_tok.eos_id,
                               max_lengths=torch.tensor([40]))[0][0].tokens
        written = stream_translate(model, ids, k=len(ids), max_len=40)
        assert written[:-1] == expected


def test_wait_1_writes_after_each_piece_and_matches_the_prefix_trained_pass():
    """With k = 1 each token is written having read one more piece; the log-probabilities of a
    step equal those of the prefix-to-prefix training pass at that step."""
    model = uni_model(layers=1, seed=4)
    ids = [4, 9, 5, 17, 6]
    state = waitk.read(model, waitk.start(model), ids[:1])
    state, first = waitk.write(model, state, bos=2, eos=3, max_len=20)
    with torch.no_grad():
        logits = waitk.PrefixToPrefix(model)(torch.tensor([ids]), torch.tensor([5]),
                                             torch.tensor([[2]]), 1)
    banned = logits[0, 0].clone()
    banned[[0, 2, 3]] = float("-inf")  # pad, BOS, and EOS before min_length
    assert first == int(banned.argmax()) and state.read == 1 and len(state.written) == 1


# -- the contract probes hold claimed capabilities to their word ---------------------------------

def test_the_probes_catch_a_decoder_and_an_encoder_that_only_claim_the_capabilities():
    from nmt import probes
    from nmt.decoders import AttentionalRNNDecoder
    from nmt.encoders import RNNEncoder

    assert probes.run(probes.decoder, AttentionalRNNDecoder) is None
    assert probes.run(probes.encoder, RNNEncoder) is None

    class Peeking(AttentionalRNNDecoder):  # reads the whole source whatever readable says
        def forward_prefix(self, tgt_in, encoded, readable):
            return self.forward(tgt_in, encoded)

    class Restarting(RNNEncoder):  # forgets the carried state at every push
        def extend(self, stream, ids):
            return super().extend(self.start_stream(ids.size(0), ids.device, torch.float32), ids)

    assert "readable" in probes.run(probes.decoder, Peeking)
    assert "incremental is True" in probes.run(probes.encoder, Restarting)
