"""The service's core, free of HTTP: which model, how many texts, and translating them without
blocking the event loop.

Tokenizing and detokenizing take microseconds and run on the event loop; the search is queued
with the model's :class:`~nmt.serve.batcher.Batcher` and awaited, so thousands of waiting
requests cost no threads. A request's texts go into the queue as one submission (they are
searched together, possibly with other requests') and the whole request has one deadline.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass

from nmt.config import DecodingOptions
from nmt.errors import NmtError
from nmt.serve.batched import BatchedTranslator, RequestTimeout
from nmt.serve.batcher import Batcher
from nmt.serve.metrics import Metrics
from nmt.serve.settings import MAX_BEAM, MAX_LENGTH_PENALTY, MAX_NBEST, ServeSettings
from nmt.translator import Hypothesis, Translator
from nmt.ui.models import ModelCatalog, ModelEntry

# A line's content between its leading and trailing white space.
_PADDED = re.compile(r"(\s*)(.*?)(\s*)", re.S)
_LINES = re.compile(r"(\r\n|\r|\n)")


class BadRequest(NmtError):
    """What the client sent cannot be served as it is (HTTP 400)."""


@dataclass
class Translated:
    """One text's hypotheses, best first (none for a blank text), and whether its source was
    cut at ``decoding.max_source_length`` pieces."""

    hypotheses: list[Hypothesis]
    truncated: bool = False

    @property
    def text(self) -> str:
        return self.hypotheses[0].text if self.hypotheses else ""


class Service:
    """The offered models, each behind its own batcher, and the limits requests must keep."""

    def __init__(self, translators: Sequence[Translator], settings: ServeSettings,
                 metrics: Metrics | None = None) -> None:
        self.settings = settings.check()
        self.metrics = metrics or Metrics()
        keys = ModelCatalog(translators)  # the same keys the web UI gives the same models
        batched = []
        for entry in keys.entries:
            if not isinstance(entry.translator, Translator):
                raise NmtError(f"{entry.key} is an exported model (the torch-free runtime), "
                               "which nmt serve does not batch yet; serve the model directory "
                               "it was exported from, or offer it with `nmt ui`.")
            batcher = Batcher(entry.translator.search, max_batch=settings.max_batch,
                              max_wait_ms=settings.max_wait_ms, max_queue=settings.max_queue,
                              batching=settings.batching,
                              on_batch=self.metrics.batch_observer(entry.key),
                              name=f"nmt-batcher-{entry.key}")
            self.metrics.watch_queue(entry.key, lambda b=batcher: b.waiting)
            batched.append(BatchedTranslator(entry.translator, batcher, settings.timeout_s))
        self.catalog = ModelCatalog(batched)

    def close(self) -> None:
        """Finish what is queued and stop every batcher."""
        for entry in self.catalog.entries:
            entry.translator.batcher.close()

    # -- choosing a model ----------------------------------------------------------------------
    def entry(self, key: str | None) -> ModelEntry:
        """The model named ``key`` (default: the first offered)."""
        try:
            return self.catalog.entry(key if key is not None else self.catalog.default_key)
        except NmtError as exc:
            raise BadRequest(str(exc)) from None

    def route(self, source: str, target: str) -> ModelEntry:
        """The first model that translates ``source`` into ``target``; ``source`` "auto" means
        the only language this server reads into ``target``, when there is just one."""
        if source == "auto":
            sources = self.sources_for(target)
            if len(sources) != 1:
                raise BadRequest(
                    f"this server does not detect languages, and it reads {len(sources)} "
                    f"languages into {target!r} ({', '.join(sources) or 'none'}); name the "
                    "source language instead of 'auto'.")
            source = sources[0]
        for entry in self.catalog.entries:
            t = entry.translator
            if (t.src_lang, t.tgt_lang) == (source, target):
                return entry
        pairs = ", ".join(sorted({f"{e.translator.src_lang}->{e.translator.tgt_lang}"
                                  for e in self.catalog.entries}))
        raise BadRequest(f"no model translates {source[:20]!r} into {target[:20]!r}; this "
                         f"server offers {pairs} (see GET /languages).")

    def sources_for(self, target: str) -> list[str]:
        return sorted({e.translator.src_lang for e in self.catalog.entries
                       if e.translator.tgt_lang == target})

    # -- checking a request --------------------------------------------------------------------
    def check_texts(self, texts: Sequence[object]) -> list[str]:
        """The texts of one request, within the per-text, per-request and total limits."""
        s = self.settings
        if len(texts) > s.max_texts:
            raise BadRequest(f"{len(texts)} texts in one request; the limit is {s.max_texts}. "
                             "Split them over several requests.")
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise BadRequest(f"text {i + 1} is not a string.")
            if len(text) > s.max_chars:
                raise BadRequest(f"text {i + 1} is {len(text):,} characters long; the limit is "
                                 f"{s.max_chars:,}. Split it into sentences or paragraphs.")
        total = sum(len(t) for t in texts)  # type: ignore[arg-type]
        if total > s.max_total_chars:
            raise BadRequest(f"the texts add up to {total:,} characters; the limit for one "
                             f"request is {s.max_total_chars:,}. Send them in several requests.")
        return list(texts)  # type: ignore[arg-type]

    def options(self, entry: ModelEntry, beam: int | None = None,
                length_penalty: float | None = None, nbest: int = 1) -> DecodingOptions:
        """The model's decoding options with this request's changes, within the service's
        ranges (a beam of 1,000 would hold the model for everyone)."""
        if beam is not None and not 1 <= beam <= MAX_BEAM:
            raise BadRequest(f"beam must be from 1 to {MAX_BEAM}.")
        if length_penalty is not None and not 0 <= length_penalty <= MAX_LENGTH_PENALTY:
            raise BadRequest(f"length_penalty must be from 0 to {MAX_LENGTH_PENALTY:g}.")
        if not 1 <= nbest <= MAX_NBEST:
            raise BadRequest(f"the number of translations must be from 1 to {MAX_NBEST}.")
        options = entry.translator.resolve(beam=beam, length_penalty=length_penalty)
        if options.beam > MAX_BEAM:  # a model configured wider than the service allows
            options = options.updated(beam=MAX_BEAM)
        return options

    # -- translating ---------------------------------------------------------------------------
    async def translate(self, entry: ModelEntry, texts: list[str], options: DecodingOptions,
                        nbest: int = 1, attention: bool = False) -> list[Translated]:
        """Each text as one segment (as ``Translator.translate`` and ``nmt translate`` read a
        line): its ``nbest`` best hypotheses, with attention when asked."""
        translator: BatchedTranslator = entry.translator
        ids = translator.src_tokenizer.encode_batch([t.strip() for t in texts])
        cap = options.max_source_length
        cut = [len(x) > cap for x in ids]
        ids = [x[:cap] for x in ids]
        todo = [i for i, x in enumerate(ids) if x]
        future = translator.submit([ids[i] for i in todo], options, nbest, attention)
        try:
            found = await asyncio.wait_for(asyncio.wrap_future(future), self.settings.timeout_s)
        except asyncio.TimeoutError:
            future.cancel()
            self.metrics.rejected.labels("timeout").inc()
            raise RequestTimeout(self.settings.timeout_s) from None
        out = [Translated([], cut[i]) for i in range(len(texts))]
        src_pieces = translator.src_tokenizer.pieces
        tgt = translator.tgt_tokenizer
        for i, results in zip(todo, found):
            source = src_pieces(ids[i]) if attention else []
            out[i].hypotheses = [
                Hypothesis(text=tgt.decode(r.tokens), score=r.score, src_pieces=source,
                           tgt_pieces=tgt.pieces(r.tokens) + ["</s>"] if attention else [],
                           attention=r.attention[:, : len(ids[i])].tolist() if attention else [])
                for r in results
            ]
        return out

    async def translate_lines(self, entry: ModelEntry, texts: list[str],
                              options: DecodingOptions, nbest: int = 1) -> list[list[str]]:
        """Texts that may hold several lines: each line is translated on its own (one sentence
        per line, as everywhere in nmt), its surrounding white space and the line ends kept.
        For each text, its ``nbest`` versions (rank r joins each line's r-th hypothesis, or
        its best where a line has fewer)."""
        layouts, segments = [], []
        for text in texts:
            layout = []
            for part in _LINES.split(text):
                if _LINES.fullmatch(part) or not part.strip():
                    layout.append(part)
                else:
                    lead, core, trail = _PADDED.fullmatch(part).groups()
                    layout.append((lead, len(segments), trail))
                    segments.append(core)
            layouts.append(layout)
        done = await self.translate(entry, segments, options, nbest) if segments else []
        versions = []
        for layout in layouts:
            ranks = max([1, *(len(done[p[1]].hypotheses) for p in layout if isinstance(p, tuple))])
            versions.append(["".join(_render(p, done, r) for p in layout) for r in range(ranks)])
        return versions


def _render(part: str | tuple[str, int, str], done: list[Translated], rank: int) -> str:
    if isinstance(part, str):
        return part
    lead, index, trail = part
    hyps = done[index].hypotheses
    text = hyps[min(rank, len(hyps) - 1)].text if hyps else ""
    return f"{lead}{text}{trail}"
