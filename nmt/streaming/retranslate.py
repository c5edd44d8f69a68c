"""Re-translation (Arivazhagan et al. 2020, "Re-translation versus streaming for simultaneous
translation"; Niehues et al. 2018), with two ways of keeping the display stable.

Each new source word re-translates the whole prefix read so far with the ordinary search and
settings, so it works with any model, bidirectional encoders included, and the final update is
exactly the offline translation of the whole text. What is shown as committed is the part the
policy trusts:

- *local agreement* (Liu et al. 2020; Polák et al. 2022): only target pieces on which the last
  :data:`AGREEMENT` translations agree (their common prefix) are committed; a piece that one
  of the last few words changed is not yet trusted;
- *mask-k*: the last ``k`` pieces are never committed: the end of a prefix's translation is
  where the model guesses most, and where the next words change it.

The rest is tentative. While the source is a prefix, each new translation is forced to begin
with what is committed (constrained search), so committed text stays put until the final
update, which is unconstrained: the offline translation, taking back what it disagrees with.
That final rewrite is where the erasure comes from, and one early piece it changes takes back
everything committed after it; hence the conservative defaults. While the source is a prefix,
the output is also capped at :data:`PREFIX_LENGTH_RATIO` pieces per source piece, so a model
does not invent the rest of a sentence it has only begun to read.

Measured on 100 Bible dev verses fed word by word, beam 5, with the stage-two bundled model
(fine-tuned on prefix pairs, ``configs/bible-en-fr-bundle.yaml``): normalized erasure / AL in
words

    agreement of 2:  mask 2  0.56 / 14.0   mask 6  0.43 / 13.6   mask 12  (60 verses) 0.25 / 15.5
    agreement of 4:  mask 4  0.35 / 15.6   mask 8  0.29 / 16.0   mask 12  0.23 / 17.4
    agreement of 6:  mask 4  0.22 / 16.7   mask 8  0.21 / 17.2   mask 12  0.19 / 18.3

and with stage three, the bundled model now, on 200 dev verses (``benchmarks/streaming.py``):

    agreement of 6:  mask 4  0.21 / 16.8   mask 8  0.19 / 17.4   mask 12  0.15 / 18.4

(the same model trained on whole sentences only: 0.63 at agreement 2, mask 0). Attention-based
commitment (AlignAtt, Papi et al. 2023: hold back pieces attending to the last f source
pieces) did worse here: 0.47 at best.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from nmt.errors import NmtError

DEFAULT_MASK = 12
AGREEMENT = 6  # translations whose common prefix may be committed (2: the last two)
PREFIX_LENGTH_RATIO = 1.0


@dataclass(frozen=True)
class Shown:
    """The per-stream value: the last :data:`AGREEMENT` translations (target pieces, oldest
    first) and how much of the last one is committed."""

    recent: tuple[tuple[int, ...], ...] = ()
    committed: int = 0

    @property
    def tokens(self) -> tuple[int, ...]:
        return self.recent[-1] if self.recent else ()


class Retranslate:
    def __init__(self, k: int | None = None) -> None:
        self.k = DEFAULT_MASK if k is None else k
        if self.k < 0:
            raise NmtError(f"re-translation hides the last k target pieces; k must be 0 or more, "
                           f"got {self.k}.")

    def start(self, translator, options) -> Shown:
        return Shown()

    def advance(self, translator, options, shown: Shown, source: list[int],
                final: bool) -> tuple[Shown, list[int], list[int]]:
        if not source:
            return Shown(), [], []
        if final:  # unconstrained: the offline translation of the whole text
            found = translator.search([source], options)[0]
            tokens = found[0].tokens if found else []
            return Shown((tuple(tokens),), len(tokens)), tokens, []
        options = _prefix_options(options)
        committed = list(shown.tokens[: shown.committed])
        found = translator.search([source], options, prefixes=[committed] if committed else None)[0]
        tokens = tuple(found[0].tokens if found else committed)
        recent = (*shown.recent, tokens)[-AGREEMENT:]
        # Until there are enough translations to agree, nothing new is trusted.
        agreed = (min(_common_prefix(other, tokens) for other in recent)
                  if len(recent) == AGREEMENT else shown.committed)
        cut = max(shown.committed, min(agreed, len(tokens) - self.k))
        return Shown(recent, cut), list(tokens[:cut]), list(tokens[cut:])


@functools.lru_cache(maxsize=64)
def _prefix_options(options):
    """The capped settings for a prefix: derived (and validated) once per options value, not
    once per word, since a stream keeps its options for its whole life."""
    return options.updated(max_length_ratio=PREFIX_LENGTH_RATIO,
                           max_length_offset=options.min_length + 1)


def _common_prefix(a, b) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n
