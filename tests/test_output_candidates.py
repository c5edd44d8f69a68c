"""Training against a per-batch output vocabulary (training.output_candidates, Jean et al. 2015)."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import micro_config

from nmt.data.batching import collate
from nmt.errors import NmtError
from nmt.training.candidates import IGNORED, candidate_vocabulary
from nmt.training.trainer import Trainer, train


def trainer(tmp_path, **training) -> Trainer:
    cfg = micro_config(**training)
    cfg.model.dropout = 0.0
    t = Trainer(cfg, tmp_path / "run", progress=False)
    t.out.mkdir(parents=True)
    t.setup()
    return t


def batches(t: Trainer, n: int = 3):
    tok = t.tgt_tok
    for start in range(0, 32 * n, 32):
        yield collate(t.train_examples[start : start + 32], tok.pad_id, tok.bos_id, tok.eos_id)


def loss_and_grads(t: Trainer, batch, candidates: bool):
    t.model.zero_grad(set_to_none=True)
    loss = t.loss_sum(t.model, batch, candidates=candidates)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in t.model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_every_id_a_candidate_is_the_whole_softmax(tmp_path, smoothing):
    t = trainer(tmp_path, output_candidates=10_000, label_smoothing=smoothing)
    assert t.frequent.tolist() == list(range(t.tgt_tok.vocab_size))
    for batch in batches(t):
        full, full_grads = loss_and_grads(t, batch, candidates=False)
        restricted, grads = loss_and_grads(t, batch, candidates=True)
        torch.testing.assert_close(restricted, full, rtol=1e-5, atol=1e-4)
        assert grads.keys() == full_grads.keys()
        for name in grads:
            torch.testing.assert_close(grads[name], full_grads[name], rtol=1e-4, atol=1e-6, msg=name)


def test_a_small_candidate_set_holds_every_gold_piece_and_is_cheaper(tmp_path):
    t = trainer(tmp_path, output_candidates=20)
    assert len(t.frequent) == 20
    pad = t.tgt_tok.pad_id
    for batch in batches(t):
        sample = candidate_vocabulary(batch.tgt_out, t.frequent, pad, t.tgt_tok.vocab_size)
        vocab, targets = sample.vocab, sample.targets
        gold = batch.tgt_out[batch.tgt_out != pad]
        assert set(gold.tolist()) <= set(vocab.tolist())
        assert set(t.frequent.tolist()) <= set(vocab.tolist())
        assert len(vocab) < t.tgt_tok.vocab_size
        real = targets != IGNORED
        assert torch.equal(vocab[targets[real]], batch.tgt_out[real])  # targets point at gold
        assert (targets[batch.tgt_out == pad] == IGNORED).all()
        # fewer classes to share the probability with: the loss is lower than the whole softmax's
        full, _ = loss_and_grads(t, batch, candidates=False)
        restricted, _ = loss_and_grads(t, batch, candidates=True)
        assert restricted < full


def test_training_with_candidates_runs_end_to_end_and_changes_the_updates(tmp_path):
    """The same run with 30 candidates and with every id a candidate: the first trains on the
    smaller softmax (its weights differ), the second is the whole softmax's run exactly."""
    from safetensors.torch import load_file

    def trained(name: str, candidates: int) -> dict:
        cfg = micro_config(max_steps=4, eval_every=4, output_candidates=candidates)
        cfg.model.dropout = 0.0
        train(cfg, tmp_path / name, progress=False)
        evals = [json.loads(x) for x in (tmp_path / name / "metrics.jsonl").read_text().splitlines()
                 if '"eval"' in x]
        assert evals and evals[-1]["dev_loss"] > 0
        return load_file(str(tmp_path / name / "model.safetensors"))

    few, every, full = trained("few", 30), trained("every", 10_000), trained("full", 0)
    assert any(not torch.allclose(few[k], full[k]) for k in full)
    for k in full:
        torch.testing.assert_close(every[k], full[k], atol=1e-5, rtol=1e-4, msg=k)


def test_a_decoder_without_the_capability_is_refused(tmp_path, monkeypatch):
    from nmt.decoders import AttentionalRNNDecoder

    monkeypatch.setattr(AttentionalRNNDecoder, "trains_on_candidates", False)
    with pytest.raises(NmtError, match="training.output_candidates needs a decoder .*CandidateDecoder"):
        trainer(tmp_path, output_candidates=20)


def test_sampled_negatives_come_from_outside_the_certain_set_with_their_weight():
    pad, vocab_size = 0, 300
    gen = torch.Generator().manual_seed(3)
    tgt_out = torch.randint(4, 60, (8, 12), generator=gen)
    tgt_out[:, -3:] = pad
    frequent = torch.arange(1, 41)
    sample = candidate_vocabulary(tgt_out, frequent, pad, vocab_size, negatives=50, generator=gen)
    certain = set(tgt_out.reshape(-1).tolist()) | set(frequent.tolist())
    ids = sample.vocab.tolist()
    assert ids == sorted(set(ids)) and len(ids) == len(certain) + 50
    rest = vocab_size - len(certain)
    for i, w in zip(ids, sample.weight.tolist()):
        assert w == (1.0 if i in certain else pytest.approx(rest / 50))
    real = sample.targets != IGNORED
    assert torch.equal(sample.vocab[sample.targets[real]], tgt_out[real])
    # more negatives than the rest of the vocabulary: every id, each standing for itself
    every = candidate_vocabulary(tgt_out, frequent, pad, vocab_size, negatives=10_000, generator=gen)
    assert every.vocab.tolist() == list(range(vocab_size)) and (every.weight == 1).all()


def test_corrected_candidates_estimate_the_whole_softmax_normaliser_without_bias():
    """E[sum over candidates of exp(z + log weight)] = sum over the vocabulary of exp(z): the
    sampled-softmax correction, checked by drawing many candidate sets for one set of logits."""
    gen = torch.Generator().manual_seed(0)
    vocab_size, pad = 400, 0
    z = torch.randn(vocab_size, generator=gen) * 2
    tgt_out = torch.tensor([[5, 9, 17, pad]])
    frequent = torch.arange(1, 30)
    estimates = []
    for _ in range(4000):
        sample = candidate_vocabulary(tgt_out, frequent, pad, vocab_size, negatives=40, generator=gen)
        estimates.append(float((z[sample.vocab] + sample.weight.log()).exp().sum()))
    assert sum(estimates) / len(estimates) == pytest.approx(float(z.exp().sum()), rel=0.03)
    # without the correction the same sets underestimate it badly
    plain = candidate_vocabulary(tgt_out, frequent, pad, vocab_size, negatives=40, generator=gen)
    assert float(z[plain.vocab].exp().sum()) < 0.5 * float(z.exp().sum())


def test_training_with_sampled_negatives_runs_and_reports_the_whole_softmax_loss(tmp_path):
    t = trainer(tmp_path, output_candidates=20, output_negatives=30, label_smoothing=0.1)
    batch = next(batches(t))
    full, _ = loss_and_grads(t, batch, candidates=False)
    sampled = torch.stack([loss_and_grads(t, batch, candidates=True)[0] for _ in range(20)])
    # an estimate of the whole softmax's loss, not the much lower loss of a small softmax
    small, _ = loss_and_grads(trainer(tmp_path / "small", output_candidates=20), batch, candidates=True)
    assert abs(float(sampled.mean()) - float(full)) < abs(float(small) - float(full))
    train(micro_config(max_steps=4, eval_every=4, output_candidates=20, output_negatives=30),
          tmp_path / "neg", progress=False)
    evals = [json.loads(x) for x in (tmp_path / "neg" / "metrics.jsonl").read_text().splitlines()
             if '"eval"' in x]
    assert evals and evals[-1]["dev_loss"] > 0


def test_negatives_without_candidates_are_refused(tmp_path):
    with pytest.raises(NmtError, match="training.output_negatives .* training.output_candidates is 0"):
        trainer(tmp_path, output_negatives=30)


def test_a_resumed_run_draws_the_same_negatives_as_an_uninterrupted_one(tmp_path):
    from safetensors.torch import load_file

    def cfg(steps: int):
        c = micro_config(max_steps=steps, eval_every=3, save_every=3, output_candidates=20,
                         output_negatives=30)
        c.model.dropout = 0.0
        return c

    train(cfg(6), tmp_path / "whole", progress=False)
    train(cfg(3), tmp_path / "halves", progress=False)
    train(cfg(6), tmp_path / "halves", progress=False, resume=True)
    def last(run):
        return load_file(str(run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip()
                             / "model.safetensors"))

    whole, halves = last(tmp_path / "whole"), last(tmp_path / "halves")
    assert (tmp_path / "halves" / "checkpoints" / "latest").read_text().strip().endswith("6")
    for k in whole:
        torch.testing.assert_close(halves[k], whole[k], atol=0, rtol=0, msg=k)
