"""Live mode: one browser session's re-translation of the source box while it is typed.

Each session keeps its own :class:`~nmt.streaming.Stream` (in a gr.State, never on the
shared translator) and feeds it only the complete words of the box, so a keystroke inside
a word costs nothing and each new word costs one search. The stream's value is its whole
history (what it committed stays committed), which a stateless handler could only rebuild by
translating every prefix again on each request. When the text is not an extension of what
the stream read (an edit, a paste, another model or setting), a new stream starts from the
text in two pushes, all words but the last and then the last, so that it can already commit
what the translations of those two prefixes agree on.

When typing pauses (the page asks) the stream is finished: the last word is read and the
translation shown is the offline translation of the whole text with the same settings.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nmt.streaming import Stream, Update
from nmt.ui.heatmap import escape

if TYPE_CHECKING:
    from nmt.translator import Translator

# The word still being typed: the non-space characters at the end of the text.
_PARTIAL_WORD = re.compile(r"\S*\Z")
# The start of the last complete word of a text that ends with whitespace.
_LAST_WORD = re.compile(r"\S+\s*\Z")


def complete_words(text: str) -> str:
    """The longest prefix of ``text`` that ends with whitespace: the words a stream reads now."""
    return text[: _PARTIAL_WORD.search(text).start()]


@dataclass
class LiveSession:
    """One session's stream, the settings it was started with, and a lock: the live and the
    pause events of one page may run at once, and a stream takes one push at a time."""

    settings: tuple[str, int, float] | None = None  # (model key, beam, length penalty)
    stream: Stream | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def update(self, translator: Translator, settings: tuple[str, int, float], text: str,
               final: bool) -> Update:
        """What to show for ``text``: the stream's view of its complete words, or with
        ``final`` the final translation of all of it."""
        with self.lock:
            stream = self.stream
            same = stream is not None and settings == self.settings
            finished = same and stream.last is not None and stream.last.final
            if finished and text == stream.source:
                return stream.last  # a repeated or late event for a text already finished
            words = complete_words(text)
            if not same or finished or not words.startswith(stream.source):
                stream = self._restart(translator, settings, words)
            else:
                stream.push(words[len(stream.source):])  # no new word: nothing recomputed
            if final:
                stream.push(text[len(stream.source):])
                stream.finish()
            return stream.last

    def _restart(self, translator: Translator, settings: tuple[str, int, float],
                 words: str) -> Stream:
        _, beam, penalty = settings
        options = translator.resolve(beam=beam, length_penalty=penalty)
        stream = Stream(translator, policy="retranslate", options=options)
        last = _LAST_WORD.search(words)
        head = words[: last.start()] if last else words
        stream.push(head)  # all words but the last: the translation the next one is compared to
        stream.push(words[len(head):])
        self.settings, self.stream = settings, stream
        return stream


def render(update: Update | None) -> str:
    """The update as HTML: the committed text plainly, the tentative tail in a marked span.

    Everything shown is model output for user input, so it is escaped, template syntax too.
    """
    if update is None:
        return ""
    committed = update.committed.lstrip()
    tentative = update.tentative if committed else update.tentative.lstrip()
    if not committed and not tentative:
        return ""
    state = "final" if update.final else "typing"
    parts = [f'<div class="live-text" data-state="{state}" data-words="{update.source_words}">']
    if committed:
        parts.append(f'<span class="committed">{escape(committed)}</span>')
    if tentative:
        tail = tentative.lstrip()  # the space before it is not what may change
        parts.append(escape(tentative[: len(tentative) - len(tail)]))
        parts.append(f'<span class="tentative" title="may still change">{escape(tail)}</span>')
    parts.append("</div>")
    return "".join(parts)
