"""Prometheus metrics of the service, at ``GET /metrics`` in the text exposition format.

prometheus_client (pure Python, no dependencies of its own) writes the format; every app gets
its own registry, so two services in one process (tests, an embedding application) never mix
their numbers. Routes are labelled by their template, never the raw path, so a scan of random
URLs cannot blow up the number of series.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST

from nmt.serve.batcher import BatchRecord

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class Metrics:
    """The service's instruments, registered in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("nmt_requests", "HTTP requests answered, by route and status.",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("nmt_request_duration_seconds",
                                 "Time from request to response, by route.", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.batch_sentences = Histogram("nmt_batch_sentences",
                                         "Sentences in each batched search.", ["model"],
                                         buckets=BATCH_BUCKETS, registry=r)
        self.batch_requests = Histogram("nmt_batch_requests",
                                        "Searches (requests) merged into each batched search.",
                                        ["model"], buckets=BATCH_BUCKETS, registry=r)
        self.search_seconds = Histogram("nmt_search_duration_seconds",
                                        "Time of each batched search.", ["model"],
                                        buckets=LATENCY_BUCKETS, registry=r)
        self.queue_wait = Histogram("nmt_queue_wait_seconds",
                                    "Time the oldest search of a batch waited in the queue.",
                                    ["model"], buckets=LATENCY_BUCKETS, registry=r)
        self.sentences = Counter("nmt_sentences_translated", "Sentences translated.", ["model"],
                                 registry=r)
        self.rejected = Counter("nmt_rejected_requests",
                                "Requests refused for load or size (queue_full, timeout, "
                                "body_too_large).", ["reason"], registry=r)
        self.queue = Gauge("nmt_queue_sentences", "Sentences waiting for a search.", ["model"],
                           registry=r)

    def batch_observer(self, model: str) -> Callable[[BatchRecord], None]:
        """The batcher's ``on_batch`` callback for ``model``."""
        sentences, requests = self.batch_sentences.labels(model), self.batch_requests.labels(model)
        seconds, wait = self.search_seconds.labels(model), self.queue_wait.labels(model)
        done = self.sentences.labels(model)

        def observe(record: BatchRecord) -> None:
            sentences.observe(record.sentences)
            requests.observe(record.requests)
            seconds.observe(record.seconds)
            wait.observe(record.waited_s)
            done.inc(record.sentences)

        return observe

    def watch_queue(self, model: str, waiting: Callable[[], int]) -> None:
        """Report ``waiting()`` as the queue length of ``model`` whenever metrics are read."""
        self.queue.labels(model).set_function(waiting)

    def render(self) -> bytes:
        return generate_latest(self.registry)
