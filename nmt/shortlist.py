"""Lexical shortlists: decode over the target pieces a source can plausibly produce.

The output layer (hidden x vocabulary) is two thirds of a decoding step's arithmetic, yet a
sentence's translation draws on a few hundred of the vocabulary's thousands of pieces. A
shortlist maps each source piece to its likeliest translations, learned once from the training
pairs with IBM Model 1 (Brown et al. 1993), a few EM passes over co-occurrences; a batch then
computes the output layer for the union of its sentences' lists (its source pieces' lists and
the most frequent target pieces), and search normalises each sentence over its own list
alone, so that a translation never depends on the sentences batched with it. Marian does the
same on CPUs, from fast_align tables, but lets a batch share its union.

Measured on the first 500 Bible en-fr dev verses with the bundled model (beam 5), each sentence
over its own list: 40 pieces per source piece plus the 600 most frequent give BLEU 35.18
against 35.27 over the whole vocabulary (100 + 500: 35.26, but 475 KB, past the bundled model's
25 MB budget; 50 + 500: 35.11; 30 + 200: 34.77).

On disk a row keeps only what the frequent list lacks, and pieces never seen on the source side
(in a joint vocabulary, the target-only ones) keep nothing: 218 KB for the bundled model instead
of 640 KB for the dense int16 table (8,000 x 40).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch
from torch import Tensor

PER_SOURCE = 40
FREQUENT = 600
# The translation table is dense (source x target vocabulary, twice over during EM): past this
# many cells (16k x 16k) a model goes without a shortlist rather than exhaust memory.
MAX_TABLE_CELLS = 16384 * 16384


@dataclass
class Shortlist:
    table: Tensor  # (source vocabulary, width) target ids, likeliest first; -1 pads short rows
    frequent: Tensor  # (FREQUENT,) target ids

    def candidates(self, sources: Iterable[Sequence[int]], always: Sequence[int]) -> Tensor:
        """The sorted target ids a batch may produce: its source pieces' lists, the frequent
        pieces and ``always`` (e.g. EOS)."""
        src = torch.tensor(sorted({i for s in sources for i in s}), dtype=torch.long)
        src = src[src < self.table.size(0)]
        listed = self.table[src].flatten()
        ids = torch.cat([self.frequent, listed[listed >= 0], torch.tensor(always, dtype=torch.long)])
        return torch.unique(ids)

    def allowed(self, sources: Sequence[Sequence[int]], vocab: Tensor,
                always: Sequence[Sequence[int]]) -> Tensor:
        """(batch, len(vocab)) bool: which of a batch's ``vocab`` each source may produce, its
        own candidates with its own ``always``. Search normalises each sentence over these
        alone, so a translation does not depend on the sentences it is batched with."""
        return torch.stack([torch.isin(vocab, self.candidates([s], a)) for s, a in zip(sources, always)])

    @classmethod
    def union(cls, lists: Sequence[Shortlist]) -> Shortlist:
        """Every list's candidates at once (an ensemble's models each keep their own
        translations in reach): the tables side by side, the frequent pieces merged."""
        rows = max(s.table.size(0) for s in lists)
        tables = [torch.nn.functional.pad(s.table, (0, 0, 0, rows - s.table.size(0)), value=-1)
                  for s in lists]
        return cls(torch.cat(tables, dim=1), torch.unique(torch.cat([s.frequent for s in lists])))

    def save(self, path: Path) -> None:
        from safetensors.torch import save_file

        # Rows stored back to back (CSR); ids fit 16 bits for any vocabulary a dense table allows.
        kept = self.table >= 0
        ids = self.table[kept]
        top = max(int(ids.max()) if ids.numel() else 0, int(self.frequent.max()))
        dtype = torch.int16 if top < 2**15 else torch.int32
        offsets = torch.cat([torch.zeros(1, dtype=torch.long), kept.sum(1).cumsum(0)])
        save_file({"ids": ids.to(dtype), "offsets": offsets.int(), "frequent": self.frequent.to(dtype)},
                  str(path))

    @classmethod
    def load(cls, path: Path) -> Shortlist:
        """Raises ValueError for a file that is not a well-formed shortlist."""
        from safetensors.torch import load_file

        tensors = load_file(str(path))
        ids, offsets = tensors["ids"].long(), tensors["offsets"].long()
        lengths = offsets.diff()
        if offsets.numel() < 2 or offsets[0] != 0 or offsets[-1] != ids.numel() or (lengths < 0).any():
            raise ValueError("its row offsets do not describe its ids")
        table = torch.full((lengths.numel(), int(lengths.max())), -1, dtype=torch.long)
        table[torch.arange(table.size(1)) < lengths.unsqueeze(1)] = ids
        return cls(table, tensors["frequent"].long())


def build(
    pairs: Sequence[tuple[Sequence[int], Sequence[int]]],
    src_vocab: int,
    tgt_vocab: int,
    *,
    per_source: int = PER_SOURCE,
    frequent: int = FREQUENT,
    iterations: int = 4,
    max_pairs: int = 200_000,
    chunk: int = 256,
) -> Shortlist | None:
    """IBM Model 1 over (at most ``max_pairs`` of) the token-id pairs; ``None`` when the
    vocabularies are too large for a dense table."""
    if src_vocab * tgt_vocab > MAX_TABLE_CELLS:
        return None
    pairs = [p for p in pairs[:max_pairs] if p[0] and p[1]]
    pairs.sort(key=lambda p: (len(p[0]), len(p[1])))  # chunks of similar lengths pad little
    chunks = [_pad_chunk(pairs[i : i + chunk]) for i in range(0, len(pairs), chunk)]
    prob = torch.ones(src_vocab, tgt_vocab)  # t(target | source), uniform to start
    for _ in range(iterations):
        counts = torch.zeros(src_vocab, tgt_vocab)
        for src, tgt, src_mask, tgt_mask in chunks:
            p = prob[src.unsqueeze(2), tgt.unsqueeze(1)] * src_mask.unsqueeze(2)  # (B, S, T)
            # Each target piece's alignment posterior over its sentence's source pieces.
            post = p / p.sum(1, keepdim=True).clamp(min=1e-30) * tgt_mask.unsqueeze(1)
            counts.index_put_((src.unsqueeze(2).expand_as(post), tgt.unsqueeze(1).expand_as(post)),
                              post, accumulate=True)
        prob = counts / counts.sum(1, keepdim=True).clamp(min=1e-30)
    freq = torch.zeros(tgt_vocab)
    for _, tgt in pairs:
        freq.index_add_(0, torch.tensor(tgt), torch.ones(len(tgt)))
    top = freq.topk(min(frequent, tgt_vocab)).indices
    values, table = prob.topk(min(per_source, tgt_vocab), dim=1)
    # Unseen sources (all zeros) and what the frequent list has anyway add nothing to a batch.
    useless = (values <= 0) | torch.isin(table, top)
    order = useless.int().argsort(dim=1, stable=True)  # useful ids first, likeliest first
    table = table.gather(1, order).masked_fill(useless.gather(1, order), -1)
    return Shortlist(table, top)


def _pad_chunk(pairs: Sequence[tuple[Sequence[int], Sequence[int]]]) -> tuple[Tensor, ...]:
    def pad(seqs: list[Sequence[int]]) -> tuple[Tensor, Tensor]:
        out = torch.zeros(len(seqs), max(len(s) for s in seqs), dtype=torch.long)
        mask = torch.zeros(out.shape)
        for i, s in enumerate(seqs):
            out[i, : len(s)] = torch.tensor(s)
            mask[i, : len(s)] = 1.0
        return out, mask

    src, src_mask = pad([s for s, _ in pairs])
    tgt, tgt_mask = pad([t for _, t in pairs])
    return src, tgt, src_mask, tgt_mask
