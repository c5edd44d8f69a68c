"""Batched beam search (greedy is beam 1) over the whole batch at once.

All sentences and beams advance in one decoder call per step; a sentence leaves the
computation as soon as it has ``beam`` finished hypotheses, so the batch shrinks as it goes.
With a ``vocab`` (a lexical shortlist, :mod:`nmt.shortlist`) a decoder that supports it scores
only those target ids; the search then works on positions in ``vocab`` and maps them back.
Scores are summed log-probabilities divided by the GNMT length penalty
``((5 + length) / 6) ** alpha`` (Wu et al. 2016), plus, when ``beta`` > 0, their coverage
penalty ``beta * sum_i log(min(sum_j a_ij, 1))`` over the source pieces i (a_ij: the
attention target step j paid to piece i), which lowers a finished hypothesis that left source
pieces unattended.

The loop in :func:`beam_search` reads as the algorithm: score the next pieces, forbid what
may not come next, end the hypotheses that chose EOS, carry the best others on, let finished
sentences leave. Each of those is one function below, over one value (:class:`Beams`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from nmt.contract import BeamSharingDecoder, RestrictableDecoder, supports
from nmt.model import Seq2Seq

NEG_INF = float("-inf")


@dataclass
class SearchResult:
    tokens: list[int]  # without BOS/EOS
    score: float
    attention: Tensor | None  # (len(tokens) + 1, src_len): one row per output incl. EOS


def length_penalty(length: int | Tensor, alpha: float) -> float | Tensor:
    return ((5.0 + length) / 6.0) ** alpha


@dataclass(frozen=True)
class Targets:
    """The ids the search chooses among: the whole vocabulary (``vocab`` None) or the positions
    of a shortlist, with EOS and the never-emitted specials as such positions."""

    vocab: Tensor | None
    eos: int
    banned: tuple[int, ...]
    allowed: Tensor | None = None  # (batch, len(vocab)): each sentence's own pieces

    def tokens(self, positions: Tensor) -> Tensor:
        """Positions chosen by the search -> token ids."""
        return positions if self.vocab is None else self.vocab[positions]


@dataclass
class Beams:
    """Every live hypothesis, ``k`` rows per live sentence (``rows = sentences x k``)."""

    scores: Tensor  # (sentences, k) summed log-probabilities
    history: Tensor  # (rows, steps) chosen positions (see Targets)
    attention: Tensor | None  # (rows, steps, src_len), kept only when asked for
    coverage: Tensor | None  # (rows, src_len) attention summed over steps, for the penalty
    prev: Tensor  # (rows,) the last token ids, the decoder's next input
    alive: Tensor  # (sentences,) each live sentence's index in the batch
    state: object  # the decoder state, one row per hypothesis
    memory: object  # the decoder memory: one row per sentence or per hypothesis

    def keep(self, sentences: Tensor, k: int, shared_memory: bool) -> Beams:
        """Only the sentences at positions ``sentences`` stay in the computation."""
        rows = (sentences.unsqueeze(1) * k + torch.arange(k, device=sentences.device)).view(-1)
        return Beams(
            scores=self.scores[sentences], history=self.history[rows],
            attention=None if self.attention is None else self.attention[rows],
            coverage=None if self.coverage is None else self.coverage[rows],
            prev=self.prev[rows], alive=self.alive[sentences], state=self.state.select(rows),
            memory=self.memory.select(sentences if shared_memory else rows),
        )


@torch.inference_mode()
def beam_search(
    model: Seq2Seq,
    src: Tensor,
    src_lengths: Tensor,
    *,
    beam: int,
    bos: int,
    eos: int,
    max_lengths: Tensor,
    pad: int = 0,
    alpha: float = 1.0,
    min_length: int = 1,
    no_repeat_ngram: int = 0,
    nbest: int = 1,
    keep_attention: bool = False,
    beta: float = 0.0,
    vocab: Tensor | None = None,
    allowed: Tensor | None = None,
    prefixes: list[list[int]] | None = None,
) -> list[list[SearchResult]]:
    """src (batch, src_len), src_lengths (batch,), max_lengths (batch,) output caps ->
    for each sentence its ``nbest`` best hypotheses, best first.

    ``no_repeat_ngram`` n > 0 forbids any n-gram from appearing twice in a hypothesis.
    ``allowed`` (batch, len(vocab)) says which of ``vocab`` each sentence may produce; each is
    then normalised over its own pieces, as if it were searched alone. ``prefixes`` (token ids per sentence, each shorter than its cap) forces each hypothesis of
    a sentence to begin with its prefix: live translation keeps what it has shown that way.
    """
    batch, k, device = src.size(0), beam, src.device
    _, memory, state = model.start(src, src_lengths)
    targets, memory = _targets(model.decoder, memory, vocab, allowed, pad=pad, bos=bos, eos=eos)
    forced = _forced(prefixes, targets, device) if prefixes else None
    rows = torch.arange(batch, device=device).repeat_interleave(k)
    # A decoder that says so reads one memory row per sentence for all its beams; otherwise
    # every beam gets its own copy.
    shared_memory = supports(model.decoder, BeamSharingDecoder)
    scores = torch.full((batch, k), NEG_INF, device=device)
    scores[:, 0] = 0.0  # all beams start identical: let only the first one expand
    beams = Beams(
        scores=scores,
        history=torch.empty(batch * k, 0, dtype=torch.long, device=device),
        attention=src.new_zeros(batch * k, 0, src.size(1), dtype=torch.float) if keep_attention else None,
        coverage=src.new_zeros(batch * k, src.size(1), dtype=torch.float) if beta else None,
        prev=torch.full((batch * k,), bos, dtype=torch.long, device=device),
        alive=torch.arange(batch, device=device),
        state=state.select(rows),
        memory=memory if shared_memory else memory.select(rows),
    )
    max_lengths = max_lengths.to(device)
    finished: list[list[SearchResult]] = [[] for _ in range(batch)]
    n_finished = torch.zeros(batch, dtype=torch.long, device=device)

    for t in range(int(max_lengths.max())):
        logp, weights, state = model.decoder.step(beams.prev, beams.state, beams.memory)
        beams.state = state
        logp = logp.view(beams.alive.numel(), k, -1)
        logp = _forbid(logp, t, beams, targets, max_lengths, min_length, no_repeat_ngram)
        if forced is not None and t < forced.size(1):
            logp = _force(logp, forced[beams.alive, t])
        cand = (beams.scores.unsqueeze(2) + logp).flatten(1)
        top_scores, top_index = cand.topk(min(2 * k, cand.size(1)), dim=1)
        top_beam, top_pos = top_index // logp.size(-1), top_index % logp.size(-1)
        if beams.coverage is not None:
            beams.coverage = beams.coverage + weights.float()
        _finish(top_scores, top_beam, top_pos, t, weights, beams, targets, alpha, k,
                finished, n_finished, beta, src_lengths)
        beams = _carry_on(top_scores, top_beam, top_pos, weights, beams, targets, k)
        done = (n_finished[beams.alive] >= k) | (beams.scores[:, 0] == NEG_INF)
        if done.all():
            break
        if done.any():  # finished sentences leave the batch
            beams = beams.keep((~done).nonzero().squeeze(1), k, shared_memory)

    return [sorted(hyps, key=lambda h: -h.score)[:nbest] for hyps in finished]


def _targets(decoder, memory, vocab: Tensor | None, allowed: Tensor | None, *, pad: int,
             bos: int, eos: int):
    """Restrict the decoder to ``vocab`` when it can be (once per batch), and say which
    positions the specials have; without a shortlist the positions are the token ids."""
    if vocab is None or not supports(decoder, RestrictableDecoder):
        return Targets(None, eos, (pad, bos)), memory
    vocab = vocab.to(memory.mask.device)
    eos_position = _position(vocab, eos)
    if eos_position is None:
        raise ValueError("a shortlist must contain EOS")
    # pad and BOS are usually not in a shortlist: nothing to ban then.
    banned = tuple(p for p in (_position(vocab, pad), _position(vocab, bos)) if p is not None)
    if allowed is not None:
        allowed = allowed.to(vocab.device)
    return Targets(vocab, eos_position, banned, allowed), decoder.restrict_vocabulary(memory, vocab)


def _forbid(logp: Tensor, t: int, beams: Beams, targets: Targets, max_lengths: Tensor,
            min_length: int, no_repeat_ngram: int) -> Tensor:
    """logp (sentences, k, width) at step ``t`` -> the same with -inf wherever the next piece
    may not be: outside the sentence's own shortlist (then renormalised), a special, EOS before ``min_length``, a repeated n-gram, anything but EOS at
    a sentence's length cap."""
    n, k, width = logp.shape
    if targets.allowed is not None:  # each sentence over its own shortlist, whatever its batch
        own = targets.allowed[beams.alive].unsqueeze(1)
        logp = logp.masked_fill(~own, NEG_INF)
        logp = logp - logp.logsumexp(-1, keepdim=True)
    if targets.banned:
        logp[:, :, list(targets.banned)] = NEG_INF  # never emitted, whatever the model says
    if t < min_length:
        logp[:, :, targets.eos] = NEG_INF
    if no_repeat_ngram and t >= no_repeat_ngram:
        logp = logp.masked_fill(_repeats(beams.history, no_repeat_ngram, width).view(n, k, width),
                                NEG_INF)
    at_cap = t + 1 >= max_lengths[beams.alive]
    if at_cap.any():  # out of room: the only continuation left is EOS
        logp[at_cap] = logp[at_cap].index_fill(-1, _all_but(width, targets.eos, logp.device), NEG_INF)
    return logp


def _forced(prefixes: list[list[int]], targets: Targets, device: torch.device) -> Tensor:
    """(batch, longest prefix) positions to force at each step; -1 where a prefix has ended."""
    if targets.vocab is None:
        lookup = lambda token: token  # noqa: E731
    else:
        where = {int(t): p for p, t in enumerate(targets.vocab.tolist())}
        lookup = where.__getitem__  # the translator puts prefix tokens in the shortlist
    width = max(len(p) for p in prefixes)
    return torch.tensor([[lookup(t) for t in p] + [-1] * (width - len(p)) for p in prefixes],
                        dtype=torch.long, device=device)


def _force(logp: Tensor, positions: Tensor) -> Tensor:
    """logp (sentences, k, width), positions (sentences,): a sentence with a position >= 0 may
    only continue with it; the others are left as they are."""
    rows = positions >= 0
    if not rows.any():
        return logp
    only = torch.full_like(logp[rows], NEG_INF)
    keep = positions[rows].view(-1, 1, 1).expand(-1, logp.size(1), 1)
    logp[rows] = only.scatter(2, keep, logp[rows].gather(2, keep))
    return logp


def _finish(top_scores: Tensor, top_beam: Tensor, top_pos: Tensor, t: int, weights: Tensor,
            beams: Beams, targets: Targets, alpha: float, k: int,
            finished: list[list[SearchResult]], n_finished: Tensor, beta: float = 0.0,
            src_lengths: Tensor | None = None) -> None:
    """Record the hypotheses that chose EOS among the ``k`` best candidates (top_* are
    (sentences, 2k), best first), length-normalised (and coverage-penalised), under their
    sentence."""
    ends = top_pos == targets.eos
    ends[:, k:] = False
    ends &= top_scores > NEG_INF
    if not ends.any():
        return
    sent, slot = ends.nonzero(as_tuple=True)
    rows = sent * k + top_beam[sent, slot]
    final = top_scores[sent, slot] / length_penalty(t + 1, alpha)
    if beta:
        final = final + beta * coverage_penalty(beams.coverage[rows],
                                                src_lengths.to(rows.device)[beams.alive[sent]])
    tokens = targets.tokens(beams.history[rows]).tolist()
    attention = None
    if beams.attention is not None:
        attention = torch.cat([beams.attention[rows], weights[rows].unsqueeze(1)], 1)
    for m, (s, score) in enumerate(zip(beams.alive[sent].tolist(), final.tolist())):
        finished[s].append(SearchResult(tokens[m], score, attention[m] if attention is not None else None))
    n_finished.index_add_(0, beams.alive[sent], torch.ones_like(sent))


def coverage_penalty(coverage: Tensor, lengths: Tensor) -> Tensor:
    """Wu et al. (2016), eq. 14 without beta: coverage (rows, src_len) attention summed over the
    target steps, lengths (rows,) real source pieces -> sum_i log(min(coverage_i, 1)) over the
    real pieces (rows,); 0 when every piece got at least its whole share of attention."""
    real = torch.arange(coverage.size(1), device=coverage.device) < lengths.unsqueeze(1)
    covered = coverage.clamp(min=1e-10, max=1.0).log()
    return covered.masked_fill(~real, 0.0).sum(1)


def _carry_on(top_scores: Tensor, top_beam: Tensor, top_pos: Tensor, weights: Tensor,
              beams: Beams, targets: Targets, k: int) -> Beams:
    """The ``k`` best candidates that did not end become the next step's beams."""
    scores, order = top_scores.masked_fill(top_pos == targets.eos, NEG_INF).topk(k, dim=1)
    chosen_beam, chosen = top_beam.gather(1, order), top_pos.gather(1, order)
    n = chosen.size(0)
    rows = (torch.arange(n, device=chosen.device).unsqueeze(1) * k + chosen_beam).view(-1)
    attention = beams.attention
    if attention is not None:
        attention = torch.cat([attention[rows], weights[rows].unsqueeze(1)], 1)
    return replace(
        beams, scores=scores, attention=attention, state=beams.state.select(rows),
        coverage=None if beams.coverage is None else beams.coverage[rows],
        history=torch.cat([beams.history[rows], chosen.view(-1, 1)], dim=1),
        prev=targets.tokens(chosen.view(-1)),
    )


def _repeats(history: Tensor, n: int, vocab: int) -> Tensor:
    """(rows, steps) token history -> (rows, vocab) mask of tokens that would repeat an n-gram.

    Every earlier window whose first n-1 tokens equal the last n-1 generated tokens bans its
    n-th token; all rows are checked at once."""
    windows = history.unfold(1, n, 1)  # (rows, steps - n + 1, n)
    prefix = history[:, history.size(1) - (n - 1):].unsqueeze(1)  # (rows, 1, n - 1)
    match = (windows[:, :, :-1] == prefix).all(-1) if n > 1 else torch.ones_like(windows[..., 0], dtype=torch.bool)
    counts = torch.zeros(history.size(0), vocab, dtype=torch.int32, device=history.device)
    counts.scatter_add_(1, windows[:, :, -1], match.to(torch.int32))
    return counts > 0


def _position(vocab: Tensor, token: int) -> int | None:
    where = (vocab == token).nonzero()
    return int(where[0, 0]) if where.numel() else None


def _all_but(vocab: int, keep: int, device: torch.device) -> Tensor:
    index = torch.arange(vocab, device=device)
    return index[index != keep]
