"""Property-based tests: round trips, batching coverage and translation of arbitrary text."""

from __future__ import annotations

import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nmt import Translator, registry
from nmt.data.batching import bucket

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _bpe(data_dir):
    if not hasattr(_bpe, "tok"):
        lines = (data_dir / "bible-sample.train.fr").read_text(encoding="utf-8").splitlines()
        _bpe.tok = registry.load("tokenizers", "bpe").train(lines, vocab_size=400)
    return _bpe.tok


@SETTINGS
@given(text=st.text(max_size=200))
def test_byte_level_bpe_round_trips_any_unicode(data_dir, text):
    tok = _bpe(data_dir)
    assert tok.decode(tok.encode(text)) == text


@SETTINGS
@given(lengths=st.lists(st.tuples(st.integers(1, 120), st.integers(1, 120)), min_size=1, max_size=300),
       budget=st.integers(1, 3000), seed=st.integers(0, 10), epoch=st.integers(0, 3))
def test_every_example_appears_once_per_epoch(lengths, budget, seed, epoch):
    batches = bucket(lengths, budget, seed, epoch)
    seen = sorted(i for b in batches for i in b)
    assert seen == list(range(len(lengths)))
    for b in batches:  # within budget unless one example alone exceeds it
        longest = max(max(lengths[i][0], lengths[i][1] + 1) for i in b)
        assert len(b) == 1 or len(b) * longest <= budget
    assert bucket(lengths, budget, seed, epoch) == batches  # repeatable


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.text(max_size=60), min_size=1, max_size=4))
def test_translation_of_any_text_is_one_string_per_line(tiny_model, texts):
    translator = _translator(tiny_model)
    out = translator.translate(texts, beam=2)
    assert len(out) == len(texts) and all(isinstance(o, str) for o in out)


def _translator(path):
    if getattr(_translator, "path", None) != path:
        _translator.path, _translator.value = path, Translator.load(path)
    return _translator.value


def test_translator_is_safe_from_many_threads(tiny_model, data_dir):
    translator = Translator.load(tiny_model)
    sentences = (data_dir / "bible-sample.dev.en").read_text(encoding="utf-8").splitlines()[:12]
    expected = translator.translate(sentences, beam=2, batch_size=4)
    results: dict[int, list[str]] = {}

    def work(i: int) -> None:
        results[i] = translator.translate(sentences, beam=2, batch_size=4)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[i] == expected for i in range(6))
