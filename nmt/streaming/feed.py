"""Drive streams from text as it arrives: a line end closes a segment (a sentence, a caption).

This is what ``nmt translate --stream`` runs over stdin. Lines end by the one rule of
:mod:`nmt.textio` (``\\n``, ``\\r\\n`` or ``\\r``), also when a ``\\r\\n`` is split between two
chunks; every line, blank ones too, ends with one final record, so the output keeps one final
translation per input line, as offline ``nmt translate`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from nmt.streaming import Stream
from nmt.textio import LINE_END


def follow(chunks: Iterable[str], new_stream: Callable[[], Stream]) -> Iterator[dict[str, Any]]:
    """Records (``line``, ``committed``, ``tentative``, ``erased``, ``source_words``, ``final``,
    and for a final record the words' ``delays``) for each change the ``chunks`` bring about."""
    line, stream, shown, pending_cr = 0, new_stream(), ("", ""), False
    for chunk in chunks:
        if pending_cr and chunk.startswith("\n"):  # the second half of a \r\n
            chunk = chunk[1:]
        pending_cr = chunk.endswith("\r")
        for i, part in enumerate(LINE_END.split(chunk)):
            if i > 0:  # a line end came before this part
                yield _final(line, stream)
                line, stream, shown = line + 1, new_stream(), ("", "")
            if part:
                stream.push(part)
        # One record per chunk at most, and only when what is shown has changed.
        update = stream.last
        if update is not None and (update.committed, update.tentative) != shown:
            shown = update.committed, update.tentative
            yield {"line": line, **update.as_dict()}
    if stream.source:
        yield _final(line, stream)


def _final(line: int, stream: Stream) -> dict[str, Any]:
    stream.finish()
    return {"line": line, **stream.last.as_dict(), "delays": stream.word_delays()}
