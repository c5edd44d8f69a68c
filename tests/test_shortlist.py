"""Lexical shortlists: learned from real pairs, exact against a masked full vocabulary, shipped
with every model a run, an average or an export produces, and refused when broken."""

from __future__ import annotations

import copy
import random
import shutil

import pytest
import torch

from nmt import checkpoint, shortlist
from nmt.config import ModelConfig
from nmt.data.batching import collate
from nmt.errors import NmtError
from nmt.model import build_model
from nmt.quantize import quantize_int8
from nmt.search import beam_search
from nmt.translator import Translator


def test_ibm1_finds_each_words_translation_among_frequent_noise():
    """Source word i always appears with target word 100 + i, but every sentence also holds
    target words that are frequent everywhere: EM must attribute each target to its source
    word, which raw co-occurrence counts (topped by the frequent words) do not."""
    rng = random.Random(0)
    pairs = []
    for _ in range(400):
        words = rng.sample(range(10, 40), 4)
        noise = rng.sample(range(60, 64), 3)  # four "function words", three per sentence
        pairs.append((words, [100 + w for w in words] + noise))
    sl = shortlist.build(pairs, 50, 150, per_source=1, frequent=4)
    assert sl.table[10:40, 0].tolist() == [100 + w for w in range(10, 40)]
    assert sl.table[:10].eq(-1).all() and sl.table[40:].eq(-1).all()  # never seen: no list
    assert sorted(sl.frequent.tolist()) == [60, 61, 62, 63]
    cand = sl.candidates([[12, 13], [45]], always=[3])
    assert cand.tolist() == [3, 60, 61, 62, 63, 112, 113]


def test_saved_rows_keep_only_what_the_frequent_list_lacks(tmp_path):
    rng = random.Random(1)
    pairs = [(rng.sample(range(4, 30), 5), rng.sample(range(4, 40), 6)) for _ in range(300)]
    sl = shortlist.build(pairs, 40, 40, per_source=8, frequent=10)
    frequent = set(sl.frequent.tolist())
    assert all(not (set(row.tolist()) & frequent) for row in sl.table)
    sl.save(tmp_path / "list.safetensors")
    again = shortlist.Shortlist.load(tmp_path / "list.safetensors")
    assert torch.equal(again.frequent, sl.frequent)
    for a, b in zip(again.table, sl.table):  # the same ids per row, padding aside
        assert a[a >= 0].tolist() == b[b >= 0].tolist()


def test_too_large_a_vocabulary_goes_without():
    assert shortlist.build([([1], [1])], 20_000, 20_000) is None


def _model(vocab=30, size=16):
    cfg = ModelConfig(embedding_size=size, encoder_hidden_size=size, decoder_hidden_size=2 * size,
                      dropout=0.0)
    return build_model(cfg, vocab, vocab)[0].eval()


def _search(model, **kw):
    batch = collate([([5, 6, 7, 8, 9], [5]), ([9, 10], [5]), ([4, 11, 12, 13], [5])], 0, 2, 3)
    return beam_search(model, batch.src, batch.src_lengths, beam=3, bos=2, eos=3,
                       max_lengths=torch.tensor([6, 9, 12]), nbest=3, no_repeat_ngram=2,
                       keep_attention=True, **kw)


VOCAB = torch.tensor([3, 4, 7, 8, 11, 12, 15, 20, 21, 29])


def test_search_over_a_shortlist_equals_search_with_the_rest_masked():
    """Scoring only the shortlist's ids must find exactly what the full model finds when every
    other id's output bias is -1e9, while sentences finish at different steps."""
    torch.manual_seed(6)
    model = _model()
    masked = copy.deepcopy(model)
    with torch.no_grad():
        outside = torch.ones(30, dtype=torch.bool)
        outside[VOCAB] = False
        masked.decoder.output.bias[outside] = -1e9
    short, full = _search(model, vocab=VOCAB), _search(masked)
    assert sum(len(h.tokens) for hyps in short for h in hyps) > 10
    for a_hyps, b_hyps in zip(short, full):
        assert [h.tokens for h in a_hyps] == [h.tokens for h in b_hyps]
        for a, b in zip(a_hyps, b_hyps):
            assert set(a.tokens) <= set(VOCAB.tolist())
            assert a.score == pytest.approx(b.score, abs=1e-4)
            torch.testing.assert_close(a.attention, b.attention)


def test_int8_model_decodes_over_a_shortlist():
    """A quantized output layer is cut from its float weights; scores stay near fp32's."""
    torch.manual_seed(6)
    model = _model()
    best = [hyps[0].score for hyps in _search(model, vocab=VOCAB)]
    quantized = _search(quantize_int8(model), vocab=VOCAB)
    for hyps, fp32 in zip(quantized, best):
        assert all(set(h.tokens) <= set(VOCAB.tolist()) for h in hyps)
        assert hyps[0].score == pytest.approx(fp32, abs=0.2)


def test_trained_models_carry_their_shortlist_through_average_and_export(tiny_model, tmp_path):
    from nmt.export import export
    from nmt.training.average import average, checkpoints

    assert (tiny_model / checkpoint.SHORTLIST).is_file()
    averaged = average(tiny_model, checkpoints(tiny_model, 1, None), tmp_path / "avg")
    exported = export(averaged, tmp_path / "exported", fp16=True)
    translator = Translator.load(exported)
    run_list = shortlist.Shortlist.load(tiny_model / checkpoint.SHORTLIST)
    assert torch.equal(translator.shortlist.table, run_list.table)
    assert torch.equal(translator.shortlist.frequent, run_list.frequent)
    assert run_list.table.size(0) == translator.src_tokenizer.vocab_size


def test_a_broken_shortlist_is_refused_with_a_way_out(tiny_model, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    (model / checkpoint.SHORTLIST).write_bytes(b"not a safetensors file")
    with pytest.raises(NmtError, match="corrupt.*delete it"):
        Translator.load(model)
    shortlist.Shortlist(torch.zeros(7, 2, dtype=torch.long), torch.tensor([1])).save(
        model / checkpoint.SHORTLIST)
    with pytest.raises(NmtError, match="does not match.*delete it"):
        Translator.load(model)
    from safetensors.torch import save_file

    save_file({"ids": torch.tensor([5, 6], dtype=torch.int16), "offsets": torch.tensor([0, 3]),
               "frequent": torch.tensor([1], dtype=torch.int16)}, str(model / checkpoint.SHORTLIST))
    with pytest.raises(NmtError, match="corrupt.*offsets"):
        Translator.load(model)
    (model / checkpoint.SHORTLIST).unlink()
    assert Translator.load(model).shortlist is None  # models from before shortlists still load


def test_a_translation_does_not_depend_on_the_sentences_batched_with_it(data_dir):
    """Each sentence is normalised over its own shortlist, so batching changes nothing: the CLI
    (batches of 64), the UI's file chunks and a service's gathered requests agree."""
    translator = Translator.load()
    verses = (data_dir / "bible-sample.dev.en").read_text(encoding="utf-8").splitlines()[:24]
    alone = [translator.translate([verse])[0] for verse in verses]
    assert translator.translate(verses) == alone
    assert translator.translate(verses[::-1], batch_size=5) == alone[::-1]
