"""The model's building blocks on real tensors: cells, attention, padding, search."""

from __future__ import annotations

import random

import pytest
import torch

from nmt import registry
from nmt.config import ModelConfig
from nmt.data.batching import collate
from nmt.model import build_model
from nmt.recurrent import RecurrentStack
from nmt.search import beam_search


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_generic_loop_matches_fused_kernel(cell, bidirectional):
    torch.manual_seed(0)
    stack = RecurrentStack(registry.load("cells", cell), 5, 7, num_layers=2,
                           bidirectional=bidirectional, dropout=0.3).eval()
    x = torch.randn(4, 6, 5)
    lengths = torch.tensor([6, 3, 1, 5])
    fused_out, fused_state = stack(x, lengths)
    stack.use_fused = False
    loop_out, loop_state = stack(x, lengths)
    torch.testing.assert_close(loop_out, fused_out, atol=1e-5, rtol=1e-4)
    for a, b in zip(loop_state, fused_state):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    assert loop_out[1, 3:].abs().sum() == 0  # padded steps produce nothing


def _model(attention="general", cell="lstm", vocab=24, size=16):
    cfg = ModelConfig(cell=cell, attention=attention, embedding_size=size, encoder_hidden_size=size,
                      decoder_hidden_size=2 * size, dropout=0.0)
    return build_model(cfg, vocab, vocab)[0].eval()


@pytest.mark.parametrize("attention", ["general", "dot", "bahdanau"])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_padding_changes_no_output(attention, cell):
    torch.manual_seed(1)
    model = _model(attention, cell)
    short, long = ([5, 6, 7], [8, 9]), ([5, 6, 7, 8, 9, 10, 11], [4, 5, 6, 7])
    alone = collate([short], 0, 2, 3)
    padded = collate([short, long], 0, 2, 3)
    with torch.no_grad():
        a = model(alone.src, alone.src_lengths, alone.tgt_in)
        b = model(padded.src, padded.src_lengths, padded.tgt_in)
    torch.testing.assert_close(b[0, : a.size(1)], a[0], atol=1e-5, rtol=1e-4)
    res_alone = beam_search(model, alone.src, alone.src_lengths, beam=3, bos=2, eos=3,
                            max_lengths=torch.tensor([10]))
    res_padded = beam_search(model, padded.src, padded.src_lengths, beam=3, bos=2, eos=3,
                             max_lengths=torch.tensor([10, 10]))
    assert res_alone[0][0].tokens == res_padded[0][0].tokens
    assert res_alone[0][0].score == pytest.approx(res_padded[0][0].score, abs=1e-4)


def test_beam_search_respects_max_length_and_nbest():
    torch.manual_seed(2)
    model = _model()
    batch = collate([([5, 6, 7, 8], [5]), ([9, 10], [5])], 0, 2, 3)
    res = beam_search(model, batch.src, batch.src_lengths, beam=4, bos=2, eos=3,
                      max_lengths=torch.tensor([3, 5]), nbest=4, keep_attention=True)
    for hyps, cap in zip(res, (3, 5)):
        assert 1 <= len(hyps) <= 4
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
        for h in hyps:
            assert len(h.tokens) + 1 <= cap
            assert 3 not in h.tokens and 0 not in h.tokens
            assert h.attention.shape[0] == len(h.tokens) + 1
            torch.testing.assert_close(h.attention.sum(-1), torch.ones(h.attention.shape[0]))


@pytest.mark.parametrize("attention", ["general", "bahdanau"])
def test_beams_sharing_memory_search_exactly_like_copied_memory(attention):
    """Beam search reads one memory row per sentence for all its beams; a decoder without
    ``beams_share_memory`` gets a copy per beam. Both must find the same hypotheses, also
    while sentences of different lengths finish and leave the batch."""
    torch.manual_seed(3)
    model = _model(attention)
    pairs = [([5, 6, 7, 8, 9], [5]), ([9, 10], [5]), ([4, 11, 12, 13, 14, 15, 16], [5])]
    batch = collate(pairs, 0, 2, 3)

    def search():
        return beam_search(model, batch.src, batch.src_lengths, beam=4, bos=2, eos=3,
                           max_lengths=torch.tensor([4, 9, 12]), nbest=3, keep_attention=True)

    assert type(model.decoder).beams_share_memory
    shared = search()
    model.decoder.beams_share_memory = False
    copied = search()
    for a_hyps, b_hyps in zip(shared, copied):
        assert [h.tokens for h in a_hyps] == [h.tokens for h in b_hyps]
        for a, b in zip(a_hyps, b_hyps):
            assert a.score == pytest.approx(b.score, abs=1e-5)
            torch.testing.assert_close(a.attention, b.attention)


@pytest.mark.parametrize("cell,attention", [("lstm", "general"), ("gru", "bahdanau")])
def test_tiny_model_learns_to_reverse(cell, attention):
    """A real training loop: the model must learn to reverse short sequences of symbols."""
    torch.manual_seed(0)
    rng = random.Random(0)
    vocab = 14
    model = _model(attention, cell, vocab, size=32).train()
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)

    def sample(n):
        out = []
        for _ in range(n):
            s = [rng.randint(4, vocab - 1) for _ in range(rng.randint(2, 6))]
            out.append((s, s[::-1]))
        return out

    for _ in range(400):
        b = collate(sample(32), 0, 2, 3)
        logits = model(b.src, b.src_lengths, b.tgt_in)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), b.tgt_out.reshape(-1),
                                                 ignore_index=0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    test = sample(100)
    b = collate(test, 0, 2, 3)
    for beam in (1, 4):
        res = beam_search(model, b.src, b.src_lengths, beam=beam, bos=2, eos=3,
                          max_lengths=b.src_lengths * 2 + 2)
        accuracy = sum(r[0].tokens == t for r, (_, t) in zip(res, test)) / len(test)
        assert accuracy >= 0.9, (beam, accuracy)


class _PlainLinear(torch.nn.Linear):
    """Same maths as nn.Linear, but not nn.Linear itself: sends a cell down its explicit-gates path."""


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_explicit_gate_maths_matches_fused_cell(cell):
    torch.manual_seed(0)
    fused = registry.load("cells", cell)(6, 5)
    explicit = registry.load("cells", cell)(6, 5)
    explicit.load_state_dict(fused.state_dict())
    for name in ("ih", "hh"):
        old = getattr(explicit, name)
        new = _PlainLinear(old.in_features, old.out_features)
        new.load_state_dict(old.state_dict())
        setattr(explicit, name, new)
    assert explicit.quantized and not fused.quantized
    x = torch.randn(3, 6)
    state = tuple(torch.randn(3, 5) for _ in fused.initial_state(3, x.device, x.dtype))
    a, sa = fused(x, state)
    b, sb = explicit(x, state)
    torch.testing.assert_close(a, b)
    for p, q in zip(sa, sb):
        torch.testing.assert_close(p, q)


def test_int8_quantized_model_decodes_close_to_fp32():
    from nmt.quantize import quantize_int8

    torch.manual_seed(3)
    model = _model("general", "lstm", vocab=30, size=32)
    batch = collate([([5, 6, 7, 8, 9], [5]), ([10, 11], [5])], 0, 2, 3)
    q = quantize_int8(model)
    with torch.no_grad():
        a = torch.log_softmax(model(batch.src, batch.src_lengths, batch.tgt_in), -1)
        b = torch.log_softmax(q(batch.src, batch.src_lengths, batch.tgt_in), -1)
    assert (a - b).abs().max() < 0.1
    res = beam_search(q, batch.src, batch.src_lengths, beam=2, bos=2, eos=3,
                      max_lengths=torch.tensor([8, 8]))
    assert all(r and r[0].tokens is not None for r in res)


def test_no_repeat_ngram_blocks_repeats():
    torch.manual_seed(4)
    model = _model()
    batch = collate([([5, 6, 7], [5])], 0, 2, 3)
    res = beam_search(model, batch.src, batch.src_lengths, beam=3, bos=2, eos=3,
                      max_lengths=torch.tensor([30]), no_repeat_ngram=2, min_length=25)
    tokens = res[0][0].tokens
    bigrams = list(zip(tokens, tokens[1:]))
    assert len(tokens) >= 25 and len(bigrams) == len(set(bigrams))
