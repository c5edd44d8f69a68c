"""Live translation: translate a text while it is still arriving.

    from nmt import Translator
    from nmt.streaming import Stream

    translator = Translator.load()                        # shared by any number of streams
    stream = Stream(translator, policy="retranslate", k=8)
    stream.push("In the beginning ")                       # -> Update(committed, tentative, erased)
    stream.push("God created the heaven ")
    stream.finish()                                        # -> the final translation

A :class:`Stream` is one live text: the source received so far, what has been shown, and the
policy's own per-stream value. The model and the :class:`~nmt.translator.Translator` hold no
stream state, so many streams (one per caption track, browser tab or client) share one model.

The source is read a word at a time: a word counts once whitespace follows it (or at
:meth:`Stream.finish`), because the tokenizer's pieces for a word still being typed are not
final. A *policy* decides what to show after each new word; :data:`POLICIES` lists them:

- ``retranslate`` (Arivazhagan et al. 2020; Niehues et al. 2018) translates the whole source
  prefix again at each word, with any model, and commits the target pieces on which the last
  few translations agree, minus the last ``k`` (mask-k); the rest is tentative. Committed text
  can still be revised when the source changes its meaning; those revisions are the
  *erasure*. Its final translation is the offline translation of the whole text.
- ``wait-k`` (Ma et al. 2019) needs a model trained for it (``training.wait_k``, a
  unidirectional encoder): the encoder's state advances with each new piece and the decoder
  writes one target piece per source piece once it is ``k`` pieces behind. Nothing it writes
  is ever taken back.

Latency is measured in source words read (see :func:`word_delays` and
:mod:`nmt.evaluation.latency`), as SimulEval measures text-to-text systems.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from nmt.errors import NmtError

if TYPE_CHECKING:
    from nmt.config import DecodingOptions
    from nmt.translator import Translator

__all__ = ["POLICIES", "Policy", "Stream", "Update", "word_delays"]

_LAST_SPACE = re.compile(r"\s(?=\S*$)")


@dataclass(frozen=True)
class Update:
    """What to show after a push.

    ``committed`` is the text the policy stands by, ``tentative`` the tail that the next words
    may still change (shown marked, or not at all). ``erased`` counts the target pieces of the
    previously committed text that this update takes back (0 for wait-k, and whenever the new
    text extends the old). ``source_words`` is how many source words have been read.
    """

    committed: str
    tentative: str
    erased: int
    source_words: int
    final: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Policy(Protocol):
    """How a stream decides what to show. ``start`` makes the per-stream value; ``advance``
    gets every source piece read so far (a longer list than last time, or the same one with
    ``final``) and returns the new value with the committed and tentative target pieces."""

    def start(self, translator: Translator, options: DecodingOptions) -> Any: ...

    def advance(self, translator: Translator, options: DecodingOptions, state: Any,
                source: list[int], final: bool) -> tuple[Any, list[int], list[int]]: ...


def _policies() -> dict[str, type]:
    from nmt.streaming.retranslate import Retranslate
    from nmt.streaming.waitk import WaitK

    return {"retranslate": Retranslate, "wait-k": WaitK}


# Names users give (`--policy`, the UI) -> policy classes, each built as ``cls(k)``.
POLICIES: tuple[str, ...] = ("retranslate", "wait-k")


@dataclass
class _Shown:
    """One update's record: what was committed, after how many source words."""

    source_words: int
    committed: list[int]


@dataclass
class Stream:
    """One live text over a shared translator: ``push`` text as it arrives, then ``finish``.

    ``k`` is the policy's one setting: the hidden tail for ``retranslate`` (mask-k, default 12),
    the lag in source pieces for ``wait-k`` (default 3). ``options`` are the decoding options
    (default: the translator's), so a live translation decodes as the offline one does.
    """

    translator: Translator
    policy: str = "retranslate"
    k: int | None = None
    options: DecodingOptions | None = None
    _text: str = field(default="", init=False, repr=False)
    _read: int = field(default=0, init=False, repr=False)  # characters consumed as whole words
    _history: list[_Shown] = field(default_factory=list, init=False, repr=False)
    _last: Update | None = field(default=None, init=False, repr=False)
    _final: list[int] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        policies = _policies()
        if self.policy not in policies:
            raise NmtError(f"unknown streaming policy {self.policy!r}; choose one of: "
                           f"{', '.join(policies)}.")
        self._policy = policies[self.policy](self.k)
        self.options = self.translator.resolve(self.options)
        self._state = self._policy.start(self.translator, self.options)

    # -- the stream ------------------------------------------------------------------------------
    def push(self, text: str) -> Update:
        """Add ``text`` (any amount: a keystroke, a word, a line) and return what to show now.
        Without a new complete word, nothing is recomputed and the last update comes back."""
        if self._final is not None:
            raise NmtError("this stream is finished; start a new Stream for the next text.")
        if not isinstance(text, str):
            raise NmtError(f"push() takes text, got {type(text).__name__}.")
        self._text += text
        end = _last_word_end(self._text)
        if end <= self._read and self._last is not None:
            return self._last
        self._read = max(end, self._read)
        return self._advance(final=False)

    def finish(self) -> str:
        """Read whatever is left (a last word needs no space after it) and return the final
        translation; :attr:`last` then holds the final update."""
        if self._final is None:
            self._read = len(self._text)
            self._advance(final=True)
        return self._last.committed

    @property
    def last(self) -> Update | None:
        """The latest update, None before the first push."""
        return self._last

    @property
    def source(self) -> str:
        return self._text

    # -- measurements --------------------------------------------------------------------------
    def word_delays(self) -> list[int]:
        """For each word of the final translation, how many source words had been read when it
        was shown for good (never changed after): the delays that AL, LAAL, DAL and AP take."""
        if self._final is None:
            raise NmtError("word_delays() needs a finished stream; call finish() first.")
        return word_delays(self.translator.tgt_tokenizer, self._final,
                           [(h.source_words, h.committed) for h in self._history])

    @property
    def erased(self) -> int:
        """Target pieces taken back over the whole stream (normalized erasure divides this by
        the final translation's length in pieces)."""
        return sum(_erased(a.committed, b.committed) for a, b in zip(self._history, self._history[1:]))

    @property
    def final_pieces(self) -> list[int]:
        if self._final is None:
            raise NmtError("the stream is not finished; call finish() first.")
        return self._final

    # -- internals -------------------------------------------------------------------------------
    def _advance(self, final: bool) -> Update:
        words = self._text[: self._read]
        source = self.translator.encode_source(words, self.options)
        self._state, committed, tentative = self._policy.advance(
            self.translator, self.options, self._state, source, final)
        n_words = len(words.split())
        previous = self._history[-1].committed if self._history else []
        erased = _erased(previous, committed + tentative)
        self._history.append(_Shown(n_words, list(committed)))
        decode = self.translator.tgt_tokenizer.decode
        shown = decode(committed)
        whole = decode(committed + tentative)
        # The tentative part as the reader sees it: what the whole adds after the committed text.
        tail = whole[len(shown):] if whole.startswith(shown) else decode(tentative)
        self._last = Update(shown, tail, erased, n_words, final)
        if final:
            self._final = list(committed)
        return self._last


def _last_word_end(text: str) -> int:
    """The length of the longest prefix of ``text`` that ends with whitespace: the words in it
    are complete, the rest is a word still being typed."""
    match = _LAST_SPACE.search(text)
    return match.end() if match else 0


def _erased(before: list[int], after: list[int]) -> int:
    """Pieces of ``before`` that are not a prefix of ``after``: what a display must delete."""
    common = 0
    for a, b in zip(before, after):
        if a != b:
            break
        common += 1
    return len(before) - common


def word_delays(tokenizer: Any, final: list[int], history: list[tuple[int, list[int]]]) -> list[int]:
    """Delays of the words of ``final`` (target pieces) given ``history``: (source words read,
    committed pieces) per update, in order, the last one committing ``final``.

    A piece counts as shown for good from the first update after which every later update
    committed the same prefix up to it; a word, once the piece after its last one is (a reader
    cannot tell a whole word from a word that goes on before that), and the last word at the
    end. Words are the whitespace-separated words of the decoded text, as sacrebleu and
    SimulEval count them, so these are the delays SimulEval records for the same stream.
    """
    # Walk back from the end: the prefix up to piece j is stable from the earliest update of
    # the unbroken run of updates (ending at the last) that all commit it.
    stable_from = []
    for j in range(len(final)):
        since = history[-1][0]
        for words_read, committed in reversed(history):
            if committed[: j + 1] != final[: j + 1]:
                break
            since = words_read
        stable_from.append(since)
    # Word w's last piece is the last one whose decoded prefix holds at most w + 1 words. A
    # reader knows the word is whole only once the next word's first piece is shown (or the
    # stream ends): "offense" may still become "offenses,".
    counts = [len(tokenizer.decode(final[: j + 1]).split()) for j in range(len(final))]
    n_words = counts[-1] if counts else 0
    end = history[-1][0]
    delays = []
    for w in range(n_words):
        last = max((j for j, c in enumerate(counts) if c <= w + 1), default=0)
        delays.append(stable_from[last + 1] if last + 1 < len(final) else end)
    return delays
