"""The batcher on its own: what it merges, what it keeps apart, and how it refuses work, with a
search function that records its calls (no model needed)."""

from __future__ import annotations

import threading

import pytest

from nmt.config import DecodingOptions
from nmt.serve.batcher import Batcher, QueueFull

BEAM5 = DecodingOptions(beam=5)


class Recorder:
    """A search that answers each source with one hypothesis naming it, and waits for ``gate``."""

    def __init__(self) -> None:
        self.calls: list[tuple[list, int, int]] = []
        self.gate = threading.Event()
        self.entered = threading.Event()

    def __call__(self, ids, options, nbest=1, keep_attention=False, prefixes=None):
        self.entered.set()
        self.gate.wait(10)
        self.calls.append(([x[0] for x in ids], options.beam, nbest))
        return [[f"{x[0]}#{rank}" for rank in range(nbest)] for x in ids]


def busy_batcher(**kw) -> tuple[Batcher, Recorder]:
    """A batcher whose worker is stuck in a first search until ``recorder.gate`` opens."""
    recorder = Recorder()
    batcher = Batcher(recorder, max_wait_ms=0, **kw)
    first = batcher.submit([[0]], BEAM5)
    recorder.entered.wait(10)
    return batcher, recorder, first


def test_waiting_searches_with_the_same_settings_become_one():
    batcher, recorder, first = busy_batcher()
    a = batcher.submit([[1, 1, 1], [2]], BEAM5)  # searched shortest first, answered in order
    b = batcher.submit([[3]], BEAM5, nbest=3)  # n-best does not split a batch
    c = batcher.submit([[4]], DecodingOptions(beam=2))  # another beam does
    d = batcher.submit([[5]], BEAM5, keep_attention=True)  # and so does attention
    recorder.gate.set()
    assert first.result(10) == [["0#0"]]
    assert a.result(10) == [["1#0"], ["2#0"]] and b.result(10) == [["3#0", "3#1", "3#2"]]
    assert c.result(10) == [["4#0"]] and d.result(10) == [["5#0"]]
    batcher.close()
    assert recorder.calls == [([0], 5, 1), ([2, 3, 1], 5, 3), ([4], 2, 1), ([5], 5, 1)]


def test_batches_are_capped_and_batching_can_be_off():
    batcher, recorder, _ = busy_batcher(max_batch=3)
    futures = [batcher.submit([[i], [i + 10]], BEAM5) for i in range(1, 4)]
    recorder.gate.set()
    [f.result(10) for f in futures]
    batcher.close()
    assert [c[0] for c in recorder.calls[1:]] == [[1, 11], [2, 12], [3, 13]]  # 2 + 2 > 3

    batcher, recorder, _ = busy_batcher(batching=False)
    futures = [batcher.submit([[i]], BEAM5) for i in range(1, 4)]
    recorder.gate.set()
    [f.result(10) for f in futures]
    batcher.close()
    assert [c[0] for c in recorder.calls[1:]] == [[1], [2], [3]]


def test_a_full_queue_refuses_and_a_cancelled_search_is_skipped():
    batcher, recorder, _ = busy_batcher(max_queue=3)
    gave_up = batcher.submit([[1], [2]], BEAM5)
    kept = batcher.submit([[3]], BEAM5)
    with pytest.raises(QueueFull, match="3 sentences waiting, the limit is 3") as refused:
        batcher.submit([[4]], BEAM5)
    assert refused.value.retry_after >= 1
    assert gave_up.cancel()
    recorder.gate.set()
    assert kept.result(10) == [["3#0"]]
    batcher.close()
    assert [c[0] for c in recorder.calls] == [[0], [3]]


def test_a_failing_search_fails_every_caller_in_its_batch_and_the_worker_goes_on():
    calls = []

    def search(ids, options, **kw):
        calls.append(len(ids))
        if len(calls) == 1:
            raise RuntimeError("out of memory")
        return [["ok"] for _ in ids]

    batcher = Batcher(search, max_wait_ms=0)
    with pytest.raises(RuntimeError, match="out of memory"):
        batcher.submit([[1]], BEAM5).result(10)
    assert batcher.submit([[2]], BEAM5).result(10) == [["ok"]]
    batcher.close()
