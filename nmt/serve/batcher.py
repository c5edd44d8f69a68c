"""Dynamic batching: concurrent searches gathered into one batched beam search.

Every decoding path ends in :meth:`Translator.search` (token ids in, hypotheses out). The
:class:`Batcher` puts a queue in front of it: callers on any thread (the HTTP event loop, Gradio's
worker threads) submit a search and get a :class:`~concurrent.futures.Future`; one worker thread,
the only one that runs the model, takes the oldest waiting search, waits up to ``max_wait_ms``
for others that can share its batch (same settings), runs them as one search and answers each
caller with its own rows. While a search runs, new requests queue up, so under load a batch is
whatever arrived during the previous one and the gathering wait costs nothing.

One worker owns the model because two searches at once on a small CPU box only compete for the
same cores; one wide search uses them better than several narrow ones. A translation does not
depend on its batch: the bundled model's shortlist is normalised per sentence, and the tests
check a batched answer against the same request alone.

The queue is bounded in sentences: :meth:`Batcher.submit` raises :class:`QueueFull`, with a
``retry_after`` estimate, rather than let waiting work (and every caller's latency) grow without
limit.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from nmt.config import DecodingOptions
from nmt.errors import NmtError


class QueueFull(NmtError):
    """The batcher holds as many waiting sentences as it may; ``retry_after`` (seconds) is
    about how long the queue takes to drain at the recent speed."""

    def __init__(self, waiting: int, limit: int, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"the server is busy ({waiting} sentences waiting, the limit is "
                         f"{limit}); retry in about {retry_after} s.")


@dataclass(frozen=True)
class BatchKey:
    """What searches must share to run as one: the settings that change a search's result.
    The n-best count is not among them (a batch keeps the most any member asks for and each
    member gets its own first ``nbest``), and neither is ``batch_size``."""

    options: DecodingOptions
    keep_attention: bool
    prefixed: bool


@dataclass
class _Job:
    ids: list[list[int]]
    key: BatchKey
    nbest: int
    prefixes: list[list[int]] | None
    future: Future
    queued_at: float = field(default_factory=time.monotonic)


@dataclass
class BatchRecord:
    """One search the worker ran, for metrics: its size and how long it took."""

    requests: int
    sentences: int
    seconds: float
    waited_s: float  # the oldest member's time in the queue before the search began


class Batcher:
    """One worker thread in front of ``search`` (a :meth:`Translator.search`).

    ``max_batch`` caps the sentences of one search (a single larger submission still runs,
    alone); ``max_wait_ms`` is how long the worker waits for company after the oldest search
    arrived; ``max_queue`` caps the sentences waiting. With ``batching=False`` every submission
    is searched alone, in arrival order, which is what the load benchmark compares against.
    ``on_batch`` is called (on the worker thread) after every search.
    """

    def __init__(self, search: Callable[..., list], *, max_batch: int = 32,
                 max_wait_ms: float = 5.0, max_queue: int = 256, batching: bool = True,
                 on_batch: Callable[[BatchRecord], None] | None = None,
                 name: str = "nmt-batcher") -> None:
        if max_batch < 1 or max_queue < 1 or max_wait_ms < 0:
            raise NmtError("the batcher needs max_batch >= 1, max_queue >= 1 and max_wait_ms >= 0.")
        self._search = search
        self.max_batch, self.max_queue, self.batching = max_batch, max_queue, batching
        self.max_wait_s = max_wait_ms / 1000 if batching else 0.0
        self._on_batch = on_batch
        self._jobs: collections.deque[_Job] = collections.deque()
        self._waiting = 0  # sentences in _jobs
        self._cond = threading.Condition()
        self._closed = False
        self._seconds_per_sentence = 0.05  # a first guess, replaced by measurements
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    # -- callers -------------------------------------------------------------------------------
    def submit(self, ids: list[list[int]], options: DecodingOptions, nbest: int = 1,
               keep_attention: bool = False,
               prefixes: list[list[int]] | None = None) -> Future:
        """Queue a search of ``ids`` (non-empty, already truncated sources); the future's result
        is what ``Translator.search`` returns for them. Raises :class:`QueueFull` at once when
        the queue has no room, and NmtError once the batcher is closed."""
        if not ids:
            future: Future = Future()
            future.set_result([])
            return future
        # A wider beam is needed for a longer n-best; settings that only differ in what the
        # search does not read still share a batch.
        options = dataclasses.replace(options, beam=max(options.beam, nbest),
                                      batch_size=DecodingOptions.batch_size)
        job = _Job(list(ids), BatchKey(options, keep_attention, prefixes is not None), nbest,
                   prefixes, Future())
        with self._cond:
            if self._closed:
                raise NmtError("the translation service is shutting down; retry on another server.")
            if self._waiting and self._waiting + len(ids) > self.max_queue:
                raise QueueFull(self._waiting, self.max_queue, self._retry_after())
            self._jobs.append(job)
            self._waiting += len(ids)
            self._cond.notify()
        return job.future

    @property
    def waiting(self) -> int:
        """Sentences queued and not yet in a search."""
        return self._waiting

    def close(self, timeout: float = 30.0) -> None:
        """Stop taking work, let the queued searches finish, and end the worker."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _retry_after(self) -> int:
        return max(1, math.ceil(self._waiting * self._seconds_per_sentence))

    # -- the worker ------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._run(batch)

    def _next_batch(self) -> list[_Job] | None:
        """Wait for work, give later arrivals until the oldest job's deadline to join it, and
        take the oldest job with the queued jobs that share its key, up to ``max_batch``."""
        with self._cond:
            while not self._jobs:
                if self._closed:
                    return None
                self._cond.wait()
            first = self._jobs[0]
            deadline = first.queued_at + self.max_wait_s
            while (not self._closed and self._room(first.key) > 0
                   and (delay := deadline - time.monotonic()) > 0):
                self._cond.wait(delay)
            taken, kept, size = [], collections.deque(), 0
            for job in self._jobs:
                fits = not taken or (self.batching and job.key == first.key
                                     and size + len(job.ids) <= self.max_batch)
                (taken if fits else kept).append(job)
                size += len(job.ids) if fits else 0
            self._jobs = kept
            self._waiting -= size
        # A caller that gave up (timed out) before its search began is not searched for.
        return [job for job in taken if job.future.set_running_or_notify_cancel()]

    def _room(self, key: BatchKey) -> int:
        """Sentences that could still join a batch with ``key`` (0: full, or batching off)."""
        if not self.batching:
            return 0
        return self.max_batch - sum(len(j.ids) for j in self._jobs if j.key == key)

    def _run(self, batch: list[_Job]) -> None:
        if not batch:
            return
        started = time.monotonic()
        ids = [x for job in batch for x in job.ids]
        prefixes = [p for job in batch for p in job.prefixes] if batch[0].key.prefixed else None
        # Sources of similar length side by side pad less (a few per cent); each sentence's
        # result does not depend on its place, so the order is undone afterwards.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        try:
            found = self._search([ids[i] for i in order], batch[0].key.options,
                                 nbest=max(j.nbest for j in batch),
                                 keep_attention=batch[0].key.keep_attention,
                                 prefixes=[prefixes[i] for i in order] if prefixes else None)
        except BaseException as exc:  # noqa: BLE001 - every caller must hear of it
            for job in batch:
                job.future.set_exception(exc)
            return
        results: list = [None] * len(ids)
        for place, i in enumerate(order):
            results[i] = found[place]
        at = 0
        for job in batch:
            rows = results[at : at + len(job.ids)]
            at += len(job.ids)
            job.future.set_result([hyps[: job.nbest] for hyps in rows])
        seconds = time.monotonic() - started
        # A slow moving average: one long search should not swing Retry-After much.
        self._seconds_per_sentence = 0.8 * self._seconds_per_sentence + 0.2 * seconds / len(ids)
        if self._on_batch is not None:
            self._on_batch(BatchRecord(len(batch), len(ids), seconds, started - batch[0].queued_at))
