"""Attention with state (coverage, nmt.contract.StatefulAttention) and the coverage penalty."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import micro_config

from nmt import Translator, contracts
from nmt.attention import CoverageAttention
from nmt.contract import DecoderState, StatefulAttention, supports
from nmt.model import build_model
from nmt.search import coverage_penalty
from nmt.training.trainer import train

VERSES = ["In the beginning God created the heaven and the earth.", "Jesus wept.",
          "And God said, Let there be light: and there was light.", "The Lord is my shepherd."]


def coverage_model(input_feeding: bool):
    cfg = micro_config()
    cfg.model.attention, cfg.model.input_feeding, cfg.model.dropout = "coverage", input_feeding, 0.0
    torch.manual_seed(0)
    model, _ = build_model(cfg.model, 50, 60)
    return model.eval()


def test_coverage_attention_passes_the_probe_and_its_state_is_the_summed_weights():
    assert contracts.check("attention", CoverageAttention) is None
    assert supports(CoverageAttention, StatefulAttention)
    attention = CoverageAttention(8, 6)
    keys, mask = torch.randn(2, 5, 6), torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    cache, state = attention.precompute(keys), attention.initial_state(keys, mask)
    total = torch.zeros(2, 5)
    for _ in range(3):
        _, weights, state = attention.step(torch.randn(2, 8), keys, cache, mask, state)
        total += weights
        assert (weights[~mask] == 0).all()
    torch.testing.assert_close(state, total)


@pytest.mark.parametrize("input_feeding", [False, True])
def test_teacher_forcing_equals_decoding_step_by_step(input_feeding):
    model = coverage_model(input_feeding)
    src, lengths = torch.randint(4, 50, (3, 7)), torch.tensor([7, 5, 2])
    tgt = torch.randint(4, 60, (3, 6))
    with torch.no_grad():
        logits = model(src, lengths, tgt)
        _, memory, state = model.start(src, lengths)
        assert isinstance(state, DecoderState) and state.attention.shape == (3, 7)
        for t in range(tgt.size(1)):
            logp, _, state = model.decoder.step(tgt[:, t], state, memory)
            torch.testing.assert_close(logp, logits[:, t].log_softmax(-1), atol=1e-5, rtol=1e-4)
        # wait-k training's masked path: reading everything is forward
        everything = torch.full((3, tgt.size(1)), 7)
        torch.testing.assert_close(model.decoder.forward_prefix(tgt, model.encoder(src, lengths),
                                                                everything), logits)


@pytest.fixture(scope="module")
def coverage_run(tmp_path_factory):
    cfg = micro_config(max_steps=12, eval_every=12)
    cfg.model.attention = "coverage"
    out = tmp_path_factory.mktemp("coverage") / "run"
    train(cfg, out, progress=False)
    return out


def test_a_coverage_model_trains_and_translates_the_same_alone_or_batched(coverage_run):
    translator = Translator.load(coverage_run)
    assert type(translator.model.decoder.attention).__name__ == "CoverageAttention"
    for beam in (1, 3):
        batched = translator.translate(VERSES, beam=beam)
        assert batched == [translator.translate([v], beam=beam)[0] for v in VERSES]


def test_coverage_penalty_by_hand():
    coverage = torch.tensor([[0.5, 1.2, 0.0], [1.0, 1.0, 1.0]])
    got = coverage_penalty(coverage, torch.tensor([2, 3]))
    torch.testing.assert_close(got, torch.tensor([math.log(0.5), 0.0]))


@pytest.mark.parametrize("model", ["tiny", "coverage"])
def test_the_penalty_adds_beta_times_the_coverage_term_to_finished_scores(model, tiny_model,
                                                                         coverage_run):
    translator = Translator.load(tiny_model if model == "tiny" else coverage_run)
    plain = translator.options.updated(beam=4, coverage_penalty=0.0)
    penalised = plain.updated(coverage_penalty=0.7)
    for verse in VERSES[:2]:
        ids = translator.src_tokenizer.encode(verse)
        base = {tuple(h.tokens): h for h in translator.search([ids], plain, nbest=4,
                                                              keep_attention=True)[0]}
        changed = translator.search([ids], penalised, nbest=4, keep_attention=True)[0]
        assert changed and any(tuple(h.tokens) in base for h in changed)
        for h in changed:
            if tuple(h.tokens) not in base:
                continue
            lone = base[tuple(h.tokens)]
            term = coverage_penalty(lone.attention.sum(0, keepdim=True), torch.tensor([len(ids)]))
            assert h.score == pytest.approx(lone.score + 0.7 * float(term), abs=1e-4)
            assert h.score <= lone.score + 1e-6  # a penalty never raises a score


def test_a_stateful_attention_whose_forward_is_not_its_first_step_is_refused():
    class Drifting(CoverageAttention):
        def initial_state(self, keys, mask):
            return keys.new_ones(mask.shape)

        def forward(self, query, keys, cache, mask):  # starts from zeros: not the first step
            context, weights, _ = self.step(query, keys, cache, mask, keys.new_zeros(mask.shape))
            return context, weights

    problem = contracts.check("attention", Drifting)
    assert "forward and step from initial_state: the" in problem
