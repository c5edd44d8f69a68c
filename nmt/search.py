"""Batched beam search (greedy is beam 1) over the whole batch at once.

All sentences and beams advance in one decoder call per step; a sentence leaves the
computation as soon as it has ``beam`` finished hypotheses, so the batch shrinks as it goes.
With a ``vocab`` (a lexical shortlist, :mod:`nmt.shortlist`) a decoder that supports it scores
only those target ids; the search then works on positions in ``vocab`` and maps them back.
Scores are summed log-probabilities divided by the GNMT length penalty
``((5 + length) / 6) ** alpha`` (Wu et al. 2016).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from nmt.model import Seq2Seq


@dataclass
class SearchResult:
    tokens: list[int]  # without BOS/EOS
    score: float
    attention: Tensor | None  # (len(tokens) + 1, src_len): one row per output incl. EOS


def length_penalty(length: int | Tensor, alpha: float) -> float | Tensor:
    return ((5.0 + length) / 6.0) ** alpha


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
    vocab: Tensor | None = None,
) -> list[list[SearchResult]]:
    """src (batch, src_len), src_lengths (batch,), max_lengths (batch,) output caps ->
    for each sentence its ``nbest`` best hypotheses, best first.

    ``no_repeat_ngram`` n > 0 forbids any n-gram from appearing twice in a hypothesis.
    """
    batch, k = src.size(0), beam
    device = src.device
    _, memory, state = model.start(src, src_lengths)
    restrict = getattr(model.decoder, "restrict_vocabulary", None)
    if vocab is not None and restrict is not None:
        vocab = vocab.to(device)
        memory = restrict(memory, vocab)
        # Specials by their position in the shortlist; pad and BOS are usually not in it.
        eos = _position(vocab, eos)
        banned = [p for p in (_position(vocab, pad), _position(vocab, bos)) if p is not None]
        if eos is None:
            raise ValueError("a shortlist must contain EOS")
    else:
        vocab, banned = None, [pad, bos]
    rows = torch.arange(batch, device=device).repeat_interleave(k)
    state = state.select(rows)
    # A decoder that says so reads one memory row per sentence for all its beams; otherwise
    # every beam gets its own copy.
    shared_memory = getattr(model.decoder, "beams_share_memory", False)
    if not shared_memory:
        memory = memory.select(rows)

    scores = torch.full((batch, k), float("-inf"), device=device)
    scores[:, 0] = 0.0  # all beams start identical: let only the first one expand
    history = torch.empty(batch * k, 0, dtype=torch.long, device=device)
    attn_history = src.new_zeros(batch * k, 0, src.size(1), dtype=torch.float) if keep_attention else None
    prev = torch.full((batch * k,), bos, dtype=torch.long, device=device)  # token ids, not positions
    alive = torch.arange(batch, device=device)  # original sentence index of each active row
    max_lengths = max_lengths.to(device)
    n_finished = torch.zeros(batch, dtype=torch.long, device=device)
    finished: list[list[SearchResult]] = [[] for _ in range(batch)]

    for t in range(int(max_lengths.max())):
        logp, weights, state = model.decoder.step(prev, state, memory)
        n, width = alive.numel(), logp.size(-1)
        logp = logp.view(n, k, width)
        if banned:
            logp[:, :, banned] = float("-inf")  # never emitted, whatever the model says
        if t < min_length:
            logp[:, :, eos] = float("-inf")
        if no_repeat_ngram and t >= no_repeat_ngram:
            logp = logp.masked_fill(_repeats(history, no_repeat_ngram, width).view(n, k, width),
                                    float("-inf"))
        at_cap = t + 1 >= max_lengths[alive]
        if at_cap.any():  # out of room: the only continuation left is EOS
            logp[at_cap] = logp[at_cap].index_fill(-1, _all_but(width, eos, device), float("-inf"))

        cand = (scores.unsqueeze(2) + logp).view(n, k * width)
        top_scores, top_index = cand.topk(min(2 * k, k * width), dim=1)
        top_beam, top_token = top_index // width, top_index % width
        is_eos = top_token == eos

        # EOS among the k best candidates ends a hypothesis.
        ends = is_eos.clone()
        ends[:, k:] = False
        ends &= top_scores > float("-inf")
        if ends.any():
            sent, slot = ends.nonzero(as_tuple=True)
            src_rows = sent * k + top_beam[sent, slot]
            final = top_scores[sent, slot] / length_penalty(t + 1, alpha)
            tokens = (history[src_rows] if vocab is None else vocab[history[src_rows]]).tolist()
            attn = None
            if keep_attention:
                attn = torch.cat([attn_history[src_rows], weights[src_rows].unsqueeze(1)], 1)
            for m, (s, sc) in enumerate(zip(alive[sent].tolist(), final.tolist())):
                finished[s].append(SearchResult(tokens[m], sc, attn[m] if attn is not None else None))
            n_finished.index_add_(0, alive[sent], torch.ones_like(sent))

        # The k best candidates that did not end carry on.
        cont_scores, order = top_scores.masked_fill(is_eos, float("-inf")).topk(k, dim=1)
        sel_beam, sel_token = top_beam.gather(1, order), top_token.gather(1, order)
        sel_rows = (torch.arange(n, device=device).unsqueeze(1) * k + sel_beam).view(-1)
        history = torch.cat([history[sel_rows], sel_token.view(-1, 1)], dim=1)
        if keep_attention:
            attn_history = torch.cat([attn_history[sel_rows], weights[sel_rows].unsqueeze(1)], 1)
        state, scores, prev = state.select(sel_rows), cont_scores, sel_token.view(-1)
        if vocab is not None:
            prev = vocab[prev]

        done = (n_finished[alive] >= k) | (cont_scores[:, 0] == float("-inf"))
        if done.all():
            break
        if done.any():  # finished sentences leave the batch
            keep = (~done).nonzero().squeeze(1)
            keep_rows = (keep.unsqueeze(1) * k + torch.arange(k, device=device)).view(-1)
            alive, scores, prev = alive[keep], scores[keep], prev[keep_rows]
            history, state = history[keep_rows], state.select(keep_rows)
            memory = memory.select(keep if shared_memory else keep_rows)
            if keep_attention:
                attn_history = attn_history[keep_rows]

    return [sorted(hyps, key=lambda h: -h.score)[:nbest] for hyps in finished]


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
