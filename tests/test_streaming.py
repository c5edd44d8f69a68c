"""Live translation: streams over a shared model, as the API, and as `nmt translate --stream`."""

from __future__ import annotations

import dataclasses
import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nmt import NmtError, Translator
from nmt.streaming import Stream, Update
from nmt.streaming.feed import follow

DATA = Path(__file__).parent / "data"
VERSES = (DATA / "bible-sample.dev.en").read_text(encoding="utf-8").splitlines()[:16]


@pytest.fixture(scope="module")
def translator() -> Translator:
    return Translator.load()


def typed(translator: Translator, text: str, **kwargs) -> Stream:
    """A stream fed one character at a time, as a person types."""
    stream = Stream(translator, **kwargs)
    for char in text:
        stream.push(char)
    return stream


def test_the_final_update_is_the_offline_translation(translator):
    for k in (0, 2):
        for verse in VERSES:
            stream = typed(translator, verse, k=k)
            assert stream.finish() == translator.translate([verse])[0], verse
            assert stream.last.final and stream.last.tentative == ""


def test_updates_come_a_word_at_a_time_and_say_what_they_take_back(translator):
    stream = Stream(translator)
    first = stream.push("In the begin")
    assert first.source_words == 2 and first.committed + first.tentative != ""
    assert stream.push("n") is first  # no new word: nothing recomputed
    updates = [first, stream.push("ing God created the heaven ")]
    assert updates[-1].source_words == 7
    stream.finish()
    delays = stream.word_delays()
    final_words = stream.last.committed.split()
    assert len(delays) == len(final_words) and delays == sorted(delays)
    assert all(1 <= d <= 7 for d in delays)
    with pytest.raises(NmtError, match="finished"):
        stream.push("more")


def test_mask_k_keeps_the_tail_tentative(translator):
    stream = typed(translator, "In the beginning God created the heaven and the earth. ", k=3)
    update = stream.last
    pieces = translator.tgt_tokenizer.encode(update.committed + update.tentative)
    assert update.tentative and len(pieces) >= 3


def test_many_streams_share_one_model(translator):
    """Streams in four threads, interleaved, give what each gives alone."""
    alone = [typed(translator, verse).finish() for verse in VERSES[:8]]
    results: dict[int, str] = {}

    def worker(offset: int) -> None:
        for i in range(offset, 8, 4):
            stream = Stream(translator)
            for word in VERSES[i].split(" "):
                stream.push(word + " ")
                time.sleep(0)
            results[i] = stream.finish()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [results[i] for i in range(8)] == alone


def test_a_bad_policy_or_k_is_one_clear_error(translator):
    with pytest.raises(NmtError, match="unknown streaming policy 'wait_k'.*retranslate, wait-k"):
        Stream(translator, policy="wait_k")
    with pytest.raises(NmtError, match="k must be 0 or more"):
        Stream(translator, k=-1)


def test_follow_closes_a_segment_at_every_line_end(translator):
    chunks = ["In the beg", "inning God ", "created\r", "\nAnd God said", ", Let there be light.\n",
              "\n", "Amen"]
    records = list(follow(chunks, lambda: Stream(translator)))
    finals = [r for r in records if r["final"]]
    assert [r["line"] for r in finals] == [0, 1, 2, 3]  # \r\n split over two chunks is one end
    assert finals[0]["committed"] == translator.translate(["In the beginning God created"])[0]
    assert finals[2]["committed"] == "" and finals[2]["delays"] == []
    assert any(not r["final"] and r["line"] == 0 for r in records)


def test_translate_stream_answers_while_the_input_is_still_open(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "nmt", "translate", "--stream", "--k", "1"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, bufsize=0)
    try:
        proc.stdin.write("In the beginning God ".encode())
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        assert ready, "no update before the input ended"
        first = json.loads(proc.stdout.readline())
        assert first["line"] == 0 and not first["final"] and first["source_words"] == 4
        proc.stdin.write("created the heaven and the earth.\n".encode())
        proc.stdin.close()
        rest = [json.loads(line) for line in proc.stdout.read().decode().splitlines()]
        assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
    finally:
        proc.kill()
    final = rest[-1]
    text = "In the beginning God created the heaven and the earth."
    assert final["final"] and final["committed"] == Translator.load().translate([text])[0]
    assert len(final["delays"]) == len(final["committed"].split())


def test_translate_stream_refuses_an_output_file():
    proc = subprocess.run([sys.executable, "-m", "nmt", "translate", "--stream", "-o", "x.txt"],
                          input="", capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--stream writes its updates to stdout" in proc.stderr


def test_update_is_plain_data():
    update = Update("a", "b", 1, 2)
    assert update.as_dict() == {"committed": "a", "tentative": "b", "erased": 1, "source_words": 2,
                                "final": False}


# -- wait-k ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def waitk_translator(translator) -> Translator:
    """A wait-k-shaped model (unidirectional encoder, zero decoder start) with random weights
    and the bundled tokenizers: untrained, so its outputs vary from sentence to sentence."""
    import torch

    from nmt.config import Config, ModelConfig
    from nmt.model import build_model

    cfg = Config(model=ModelConfig(embedding_size=16, encoder_hidden_size=24, bidirectional=False,
                                   decoder_hidden_size=24, decoder_init="zero", dropout=0.0))
    cfg = dataclasses.replace(cfg, decoding=cfg.decoding.updated(max_length_ratio=1.0,
                                                                 max_length_offset=3))
    torch.manual_seed(0)
    model, _ = build_model(cfg.model, translator.src_tokenizer.vocab_size,
                           translator.tgt_tokenizer.vocab_size)
    return Translator(model, translator.src_tokenizer, translator.tgt_tokenizer, cfg)


@pytest.mark.parametrize("k", [1, 3])
def test_wait_k_writes_one_piece_per_piece_read_once_k_behind(waitk_translator, k):
    stream = Stream(waitk_translator, policy="wait-k", k=k)
    src = waitk_translator.src_tokenizer
    text, previous = "", ""
    for word in VERSES[0].split(" ")[:8]:
        text += word + " "
        update = stream.push(word + " ")
        read = len(src.encode(text.strip()))
        assert update.erased == 0 and update.tentative == ""
        assert update.committed.startswith(previous)  # nothing written is taken back
        assert stream._state.read == read and len(stream._state.written) == max(0, read - k + 1)
        previous = update.committed
    stream.finish()
    assert stream.erased == 0 and stream.last.final


def test_wait_k_with_a_lag_past_the_source_is_offline_greedy_search(waitk_translator):
    greedy = waitk_translator.resolve(beam=1)
    for verse in VERSES[:6]:
        stream = typed(waitk_translator, verse, policy="wait-k", k=1000)
        assert stream.finish() == waitk_translator.translate([verse], options=greedy)[0]


def test_wait_k_refuses_a_bidirectional_model(translator):
    with pytest.raises(NmtError, match="bidirectional"):
        Stream(translator, policy="wait-k")


def test_committed_text_stays_put_until_the_final_update(translator):
    for verse in VERSES[:6]:
        stream, previous = Stream(translator), ""
        for word in verse.split(" "):
            update = stream.push(word + " ")
            assert update.erased == 0 and update.committed.startswith(previous), verse
            previous = update.committed
        stream.finish()  # only the unconstrained final translation may take words back


@pytest.mark.parametrize("shortlist", [True, False])
def test_search_can_force_a_prefix(translator, shortlist):
    options = translator.resolve(shortlist=shortlist)
    source = translator.src_tokenizer.encode("In the beginning God created the heaven.")
    prefix = translator.tgt_tokenizer.encode("Le Seigneur dit")
    free = translator.search([source], options)[0][0].tokens
    forced = translator.search([source, source], options, prefixes=[prefix, []])
    assert forced[0][0].tokens[: len(prefix)] == prefix != free[: len(prefix)]
    assert forced[1][0].tokens == free  # an empty prefix forces nothing
