"""A Translator whose searches go through a :class:`~nmt.serve.batcher.Batcher`.

It is a :class:`~nmt.translator.Translator` in every respect (``translate``,
``translate_detailed``, live streams, the web UI's handlers) except that ``search``, where all
of those end, is queued and batched with whatever else the server is translating. So the web UI
mounted on the service shares one model and one queue with the HTTP API without any change to
the UI's code.
"""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from nmt.config import DecodingOptions
from nmt.errors import NmtError
from nmt.search import SearchResult
from nmt.serve.batcher import Batcher
from nmt.translator import Translator


class RequestTimeout(NmtError):
    """A search waited longer than the service's per-request timeout."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"the translation took longer than the server's limit of {seconds:g} s; "
                         "the server is busy, retry later or send less text.")


class BatchedTranslator(Translator):
    """``translator`` (shared, not copied) with ``search`` routed through ``batcher``; a search
    that waits more than ``timeout`` seconds raises :class:`RequestTimeout`."""

    def __init__(self, translator: Translator, batcher: Batcher, timeout: float) -> None:
        super().__init__(translator.model, translator.src_tokenizer, translator.tgt_tokenizer,
                         translator.config, translator.model_dir, translator.meta,
                         translator.shortlist)
        self.unbatched = translator
        self.batcher = batcher
        self.timeout = timeout

    def submit(self, ids: list[list[int]], options: DecodingOptions, nbest: int = 1,
               keep_attention: bool = False,
               prefixes: list[list[int]] | None = None) -> Future:
        """Queue a search without waiting for it (for callers with an event loop)."""
        return self.batcher.submit(ids, options, nbest, keep_attention, prefixes)

    def search(self, ids: list[list[int]], options: DecodingOptions, nbest: int = 1,
               keep_attention: bool = False,
               prefixes: list[list[int]] | None = None) -> list[list[SearchResult]]:
        future = self.submit(ids, options, nbest, keep_attention, prefixes)
        try:
            return future.result(timeout=self.timeout)
        except FutureTimeout:
            future.cancel()  # if the search has not begun, it never will
            raise RequestTimeout(self.timeout) from None
