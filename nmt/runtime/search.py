"""Batched beam search in numpy over an exported model: :mod:`nmt.search` without torch.

The algorithm and every rule are those of :func:`nmt.search.beam_search`, function for
function, so that the two paths give the same translations (the tests and
``benchmarks/onnx_parity.py`` hold them to it): all sentences and beams advance in one decoder
call per step; scores are summed log-probabilities divided by the GNMT length penalty
``((5 + length) / 6) ** alpha`` (Wu et al. 2016); a sentence leaves once it has ``beam``
finished hypotheses; with a shortlist the search works on positions in ``vocab`` and each
sentence is renormalised over its own pieces (``allowed``); EOS waits for ``min_length``; an
n-gram may not repeat; at a sentence's length cap only EOS remains; ``prefixes`` force each
hypothesis of a sentence to begin with given tokens (live translation).

Ties: candidates are ranked by score, then by position (lower first), with a stable sort; torch's
``topk`` leaves the order of exact ties unspecified, which matters only when two candidates'
float32 scores are identical.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

NEG_INF = np.float32(-np.inf)


@dataclass
class SearchResult:
    tokens: list[int]  # without BOS/EOS
    score: float
    attention: np.ndarray | None  # (len(tokens) + 1, src_len): one row per output incl. EOS


def length_penalty(length: int, alpha: float) -> float:
    return ((5.0 + length) / 6.0) ** alpha


@dataclass(frozen=True)
class Targets:
    """The ids the search chooses among: the whole vocabulary (``vocab`` None) or the positions
    of a shortlist, with EOS and the never-emitted specials as such positions."""

    vocab: np.ndarray | None
    eos: int
    banned: tuple[int, ...]
    allowed: np.ndarray | None = None  # (batch, len(vocab)) bool: each sentence's own pieces

    def tokens(self, positions: np.ndarray) -> np.ndarray:
        return positions if self.vocab is None else self.vocab[positions]


@dataclass
class Beams:
    """Every live hypothesis, ``k`` rows per live sentence (``rows = sentences x k``)."""

    scores: np.ndarray  # (sentences, k) float32 summed log-probabilities
    history: np.ndarray  # (rows, steps) chosen positions
    attention: np.ndarray | None  # (rows, steps, src_len), kept only when asked for
    coverage: np.ndarray | None  # (rows, src_len) attention summed over steps, for the penalty
    prev: np.ndarray  # (rows,) the last token ids
    alive: np.ndarray  # (sentences,) each live sentence's index in the batch
    state: Any  # decoder state, one row per hypothesis (``select``)
    memory: Any  # decoder memory, one row per sentence (``select``)

    def keep(self, sentences: np.ndarray, k: int) -> Beams:
        rows = (sentences[:, None] * k + np.arange(k)).reshape(-1)
        return Beams(
            scores=self.scores[sentences], history=self.history[rows],
            attention=None if self.attention is None else self.attention[rows],
            coverage=None if self.coverage is None else self.coverage[rows],
            prev=self.prev[rows], alive=self.alive[sentences], state=self.state.select(rows),
            memory=self.memory.select(sentences),
        )


def beam_search(
    model: Any,
    src: np.ndarray,
    src_lengths: np.ndarray,
    *,
    beam: int,
    bos: int,
    eos: int,
    max_lengths: np.ndarray,
    pad: int = 0,
    alpha: float = 1.0,
    min_length: int = 1,
    no_repeat_ngram: int = 0,
    nbest: int = 1,
    keep_attention: bool = False,
    beta: float = 0.0,
    vocab: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    prefixes: list[list[int]] | None = None,
) -> list[list[SearchResult]]:
    """src (batch, src_len) int64, src_lengths (batch,), max_lengths (batch,) output caps ->
    for each sentence its ``nbest`` best hypotheses, best first.

    ``model`` offers ``encode(src, lengths) -> (memory, state)``, ``restrict(memory, vocab)``
    and ``step(prev, state, memory) -> (log_probs, attention, state)`` over rows = sentences x
    beam against one memory row per sentence (:class:`nmt.runtime.model.ExportedModel`).
    """
    batch, k = src.shape[0], beam
    memory, state = model.encode(src, src_lengths)
    targets = _targets(vocab, allowed, pad=pad, bos=bos, eos=eos)
    if targets.vocab is not None:
        memory = model.restrict(memory, targets.vocab)
    forced = _forced(prefixes, targets) if prefixes else None
    scores = np.full((batch, k), NEG_INF, dtype=np.float32)
    scores[:, 0] = 0.0  # all beams start identical: let only the first one expand
    beams = Beams(
        scores=scores,
        history=np.empty((batch * k, 0), dtype=np.int64),
        attention=np.zeros((batch * k, 0, src.shape[1]), dtype=np.float32) if keep_attention else None,
        coverage=np.zeros((batch * k, src.shape[1]), dtype=np.float32) if beta else None,
        prev=np.full(batch * k, bos, dtype=np.int64),
        alive=np.arange(batch),
        state=state.select(np.repeat(np.arange(batch), k)),
        memory=memory,
    )
    finished: list[list[SearchResult]] = [[] for _ in range(batch)]
    n_finished = np.zeros(batch, dtype=np.int64)

    for t in range(int(max_lengths.max())):
        logp, weights, beams.state = model.step(beams.prev, beams.state, beams.memory)
        logp = logp.reshape(beams.alive.size, k, -1)
        logp = _forbid(logp, t, beams, targets, max_lengths, min_length, no_repeat_ngram)
        if forced is not None and t < forced.shape[1]:
            logp = _force(logp, forced[beams.alive, t])
        width = logp.shape[-1]
        cand = (beams.scores[:, :, None] + logp).reshape(beams.alive.size, -1)
        top_scores, top_index = _topk(cand, min(2 * k, cand.shape[1]))
        top_beam, top_pos = top_index // width, top_index % width
        if beams.coverage is not None:
            beams.coverage = beams.coverage + weights.astype(np.float32)
        _finish(top_scores, top_beam, top_pos, t, weights, beams, targets, alpha, k,
                finished, n_finished, beta, src_lengths)
        beams = _carry_on(top_scores, top_beam, top_pos, weights, beams, targets, k)
        done = (n_finished[beams.alive] >= k) | (beams.scores[:, 0] == NEG_INF)
        if done.all():
            break
        if done.any():  # finished sentences leave the batch
            beams = beams.keep(np.flatnonzero(~done), k)

    return [sorted(hyps, key=lambda h: -h.score)[:nbest] for hyps in finished]


def _topk(values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """values (rows, width) -> the ``n`` largest per row and their columns, largest first
    (ties: lower column first)."""
    if n < values.shape[1]:
        part = np.argpartition(-values, n - 1, axis=1)[:, :n]
        part.sort(axis=1)  # column order, so the stable sort below breaks ties by column
    else:
        part = np.broadcast_to(np.arange(values.shape[1]), values.shape)
    picked = np.take_along_axis(values, part, 1)
    order = np.argsort(-picked, axis=1, kind="stable")
    return np.take_along_axis(picked, order, 1), np.take_along_axis(part, order, 1)


def _targets(vocab: np.ndarray | None, allowed: np.ndarray | None, *, pad: int, bos: int,
             eos: int) -> Targets:
    if vocab is None:
        return Targets(None, eos, (pad, bos))
    eos_position = _position(vocab, eos)
    if eos_position is None:
        raise ValueError("a shortlist must contain EOS")
    banned = tuple(p for p in (_position(vocab, pad), _position(vocab, bos)) if p is not None)
    return Targets(vocab, eos_position, banned, allowed)


def _logsumexp(x: np.ndarray) -> np.ndarray:
    top = x.max(-1, keepdims=True)
    top = np.where(np.isfinite(top), top, np.float32(0))
    return top + np.log(np.exp(x - top).sum(-1, keepdims=True))


def _forbid(logp: np.ndarray, t: int, beams: Beams, targets: Targets, max_lengths: np.ndarray,
            min_length: int, no_repeat_ngram: int) -> np.ndarray:
    """logp (sentences, k, width) -> the same with -inf wherever the next piece may not be."""
    n, k, width = logp.shape
    if targets.allowed is not None:  # each sentence over its own shortlist, whatever its batch
        own = targets.allowed[beams.alive][:, None, :]
        logp = np.where(own, logp, NEG_INF)
        logp = logp - _logsumexp(logp)
    else:
        logp = logp.copy()
    if targets.banned:
        logp[:, :, list(targets.banned)] = NEG_INF
    if t < min_length:
        logp[:, :, targets.eos] = NEG_INF
    if no_repeat_ngram and t >= no_repeat_ngram:
        logp[_repeats(beams.history, no_repeat_ngram, width).reshape(n, k, width)] = NEG_INF
    at_cap = t + 1 >= max_lengths[beams.alive]
    if at_cap.any():  # out of room: the only continuation left is EOS
        eos_scores = logp[at_cap, :, targets.eos].copy()
        logp[at_cap] = NEG_INF
        logp[at_cap, :, targets.eos] = eos_scores
    return logp


def _forced(prefixes: list[list[int]], targets: Targets) -> np.ndarray:
    """(batch, longest prefix) positions to force at each step; -1 where a prefix has ended."""
    if targets.vocab is None:
        lookup = lambda token: token  # noqa: E731
    else:
        where = {int(t): p for p, t in enumerate(targets.vocab.tolist())}
        lookup = where.__getitem__  # the translator puts prefix tokens in the shortlist
    width = max(len(p) for p in prefixes)
    return np.array([[lookup(t) for t in p] + [-1] * (width - len(p)) for p in prefixes],
                    dtype=np.int64).reshape(len(prefixes), width)


def _force(logp: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """A sentence with a position >= 0 may only continue with it."""
    rows = np.flatnonzero(positions >= 0)
    if rows.size == 0:
        return logp
    kept = logp[rows, :, positions[rows]].copy()  # (rows, k)
    logp[rows] = NEG_INF
    logp[rows, :, positions[rows]] = kept
    return logp


def _finish(top_scores: np.ndarray, top_beam: np.ndarray, top_pos: np.ndarray, t: int,
            weights: np.ndarray, beams: Beams, targets: Targets, alpha: float, k: int,
            finished: list[list[SearchResult]], n_finished: np.ndarray, beta: float = 0.0,
            src_lengths: np.ndarray | None = None) -> None:
    """Record the hypotheses that chose EOS among the ``k`` best candidates, length-normalised
    (and coverage-penalised)."""
    ends = top_pos == targets.eos
    ends[:, k:] = False
    ends &= top_scores > NEG_INF
    if not ends.any():
        return
    sent, slot = np.nonzero(ends)
    rows = sent * k + top_beam[sent, slot]
    final = top_scores[sent, slot] / np.float32(length_penalty(t + 1, alpha))
    if beta:
        final = final + np.float32(beta) * coverage_penalty(beams.coverage[rows],
                                                            src_lengths[beams.alive[sent]])
    tokens = targets.tokens(beams.history[rows]).tolist()
    attention = None
    if beams.attention is not None:
        attention = np.concatenate([beams.attention[rows], weights[rows][:, None]], 1)
    for m, (s, score) in enumerate(zip(beams.alive[sent].tolist(), final.tolist())):
        finished[s].append(SearchResult(tokens[m], score, attention[m] if attention is not None else None))
    np.add.at(n_finished, beams.alive[sent], 1)


def coverage_penalty(coverage: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Wu et al. (2016), eq. 14 without beta: coverage (rows, src_len) attention summed over the
    target steps, lengths (rows,) -> sum_i log(min(coverage_i, 1)) over the real pieces."""
    real = np.arange(coverage.shape[1]) < lengths[:, None]
    covered = np.log(np.clip(coverage, np.float32(1e-10), np.float32(1.0)))
    return np.where(real, covered, np.float32(0)).sum(1, dtype=np.float32)


def _carry_on(top_scores: np.ndarray, top_beam: np.ndarray, top_pos: np.ndarray,
              weights: np.ndarray, beams: Beams, targets: Targets, k: int) -> Beams:
    """The ``k`` best candidates that did not end become the next step's beams."""
    masked = np.where(top_pos == targets.eos, NEG_INF, top_scores)
    order = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    scores = np.take_along_axis(masked, order, 1)
    chosen_beam = np.take_along_axis(top_beam, order, 1)
    chosen = np.take_along_axis(top_pos, order, 1)
    rows = (np.arange(chosen.shape[0])[:, None] * k + chosen_beam).reshape(-1)
    attention = beams.attention
    if attention is not None:
        attention = np.concatenate([attention[rows], weights[rows][:, None]], 1)
    return replace(
        beams, scores=scores, attention=attention, state=beams.state.select(rows),
        coverage=None if beams.coverage is None else beams.coverage[rows],
        history=np.concatenate([beams.history[rows], chosen.reshape(-1, 1)], 1),
        prev=targets.tokens(chosen.reshape(-1)),
    )


def _repeats(history: np.ndarray, n: int, width: int) -> np.ndarray:
    """(rows, steps) history -> (rows, width) mask of positions that would repeat an n-gram."""
    windows = np.lib.stride_tricks.sliding_window_view(history, n, axis=1)  # (rows, steps-n+1, n)
    if n > 1:
        match = (windows[:, :, :-1] == history[:, None, history.shape[1] - (n - 1):]).all(-1)
    else:
        match = np.ones(windows.shape[:2], dtype=bool)
    out = np.zeros((history.shape[0], width), dtype=bool)
    row, window = np.nonzero(match)
    out[row, windows[row, window, -1]] = True
    return out


def _position(vocab: np.ndarray, token: int) -> int | None:
    where = np.flatnonzero(vocab == token)
    return int(where[0]) if where.size else None
