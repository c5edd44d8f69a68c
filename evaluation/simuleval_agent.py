"""A SimulEval (1.1) text-to-text agent for nmt, so SimulEval's own command line evaluates an nmt
model live:

    simuleval --agent-class nmt.evaluation.simuleval_agent.NmtAgent \\
        --nmt-model nmt/models/bible-en-fr --source SRC.en --target REF.fr \\
        --output OUT --quality-metrics BLEU --latency-metrics AL LAAL DAL AP

SimulEval sends the source one word at a time and calls :meth:`NmtAgent.policy` after each;
the agent pushes the word into an :class:`nmt.streaming.Stream` and writes the words the stream
has committed since, or reads on. SimulEval's output only grows, so the agent writes a word only
once it is committed and complete, and never takes one back. Complete means that the committed
text goes on past it (a space and the next word's first piece are committed too) or that the
source has ended: a committed "offenses" may still become "offenses," with the next piece.

When a re-translation revises a word already written, the agent cannot show it: it writes
nothing more until the source ends, then the final translation's words after those written,
and counts the sentence in :attr:`NmtAgent.revised`. For every sentence the stream never
revises (always, with wait-k), SimulEval's output equals ``nmt evaluate --streaming``'s, and
each delay is at least the one :meth:`nmt.streaming.Stream.word_delays` gives: that one knows
from the final translation where each word ends, so a word may count one update earlier there.

SimulEval is not a dependency of nmt: ``pip install simuleval`` (see docs/evaluation.md for
installing it beside nmt without its pinned versions replacing nmt's).
"""

from __future__ import annotations

import logging
from argparse import ArgumentParser, Namespace
from typing import Any

from nmt.errors import NmtError

try:
    from simuleval.agents import ReadAction, TextToTextAgent, WriteAction
except ImportError as error:  # pragma: no cover - depends on the environment
    raise NmtError("nmt.evaluation.simuleval_agent needs SimulEval: pip install simuleval "
                   "(see docs/evaluation.md, 'Live translation')") from error

__all__ = ["NmtAgent"]

logger = logging.getLogger("nmt.simuleval")


class NmtAgent(TextToTextAgent):
    """Live translation with an nmt model directory and a streaming policy, as SimulEval's agent.

    Options (after SimulEval's own): ``--nmt-model DIR`` (default: the bundled model),
    ``--nmt-policy retranslate|wait-k``, ``--nmt-k K`` (the policy's k, as ``nmt evaluate --k``).
    """

    def __init__(self, args: Namespace) -> None:
        from nmt.translator import Translator

        self.translator = Translator.load(args.nmt_model, device=getattr(args, "device", "cpu"))
        self.stream_policy = args.nmt_policy
        self.k = args.nmt_k
        self.revised = 0  # sentences with a revision of words already written
        super().__init__(args)

    @staticmethod
    def add_args(parser: ArgumentParser) -> None:
        from nmt.streaming import POLICIES

        parser.add_argument("--nmt-model", default=None, metavar="DIR",
                            help="nmt model directory (default: the bundled model)")
        parser.add_argument("--nmt-policy", default="retranslate", choices=POLICIES,
                            help="nmt streaming policy (default: retranslate)")
        parser.add_argument("--nmt-k", type=int, default=None, metavar="K",
                            help="the policy's k (see nmt evaluate --k)")

    def reset(self) -> None:
        super().reset()
        from nmt.streaming import Stream

        self.stream = Stream(self.translator, policy=self.stream_policy, k=self.k)
        self.fed = 0  # source words pushed into the stream
        self.written: list[str] = []  # target words written to SimulEval
        self.stuck = False  # the stream revised a written word

    def policy(self) -> Any:
        source, finished = self.states.source, self.states.source_finished
        new = source[self.fed:]
        self.fed = len(source)
        if finished:
            # As `nmt evaluate --streaming` feeds text: the last word is read by finish().
            for word in new[:-1]:
                self.stream.push(word + " ")
            if new:
                self.stream.push(new[-1])
            final = self.stream.finish().split()
            if final[: len(self.written)] != self.written and not self.stuck:
                self._revision()
            return WriteAction(" ".join(final[len(self.written):]), finished=True)
        update = None
        for word in new:
            update = self.stream.push(word + " ")
        if update is None or self.stuck:
            return ReadAction()
        shown = _complete_words(update.committed)
        if shown[: len(self.written)] != self.written:
            self._revision()
            return ReadAction()
        fresh = shown[len(self.written):]
        if not fresh:
            return ReadAction()
        self.written += fresh
        return WriteAction(" ".join(fresh), finished=False)

    def _revision(self) -> None:
        self.stuck = True
        self.revised += 1
        logger.warning("the stream revised words already written, which SimulEval cannot "
                       "show; writing the rest of the final translation at the end")


def _complete_words(committed: str) -> list[str]:
    """The committed words that can no longer grow: all but the last, unless the committed
    text ends with whitespace (the last word's end is not committed before the next word)."""
    words = committed.split()
    if words and not committed[-1].isspace():
        words.pop()
    return words
