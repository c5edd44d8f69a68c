"""Token-bucketed batches: similar lengths together, so little of each batch is padding.

Batches are cut so that ``sentences x longest target`` stays within the token budget, then
shuffled; the order depends only on the seed and the epoch, so a run is repeatable.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Batch:
    src: Tensor  # (batch, src_len)
    src_lengths: Tensor  # (batch,)
    tgt_in: Tensor  # (batch, tgt_len): BOS + target
    tgt_out: Tensor  # (batch, tgt_len): target + EOS
    n_tokens: int  # real target tokens incl. EOS

    def to(self, device: torch.device) -> Batch:
        return Batch(self.src.to(device), self.src_lengths, self.tgt_in.to(device),
                     self.tgt_out.to(device), self.n_tokens)


def bucket(
    lengths: Sequence[tuple[int, int]], batch_tokens: int, seed: int, epoch: int, pool_factor: int = 100
) -> list[list[int]]:
    """Indices of examples grouped into batches for one epoch.

    lengths: (src_len, tgt_len) per example. Examples are shuffled, sorted by length within
    large pools, cut into batches under the token budget, and the batches shuffled.
    """
    rng = random.Random(seed * 1_000_003 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    avg = max(1, sum(t for _, t in lengths) // max(1, len(lengths)))
    pool = max(1, pool_factor * batch_tokens // avg)
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: (lengths[i][1], lengths[i][0]))
        current: list[int] = []
        longest = 0
        for i in chunk:
            size = max(lengths[i][0], lengths[i][1] + 1)
            if current and (len(current) + 1) * max(longest, size) > batch_tokens:
                batches.append(current)
                current, longest = [], 0
            current.append(i)
            longest = max(longest, size)
        if current:
            batches.append(current)
    rng.shuffle(batches)
    return batches


def pad_sequences(seqs: Sequence[list[int]], pad: int) -> Tensor:
    """Right-padded (len(seqs), longest) id tensor: the one padding rule training and search share."""
    out = torch.full((len(seqs), max(len(x) for x in seqs)), pad, dtype=torch.long)
    for i, x in enumerate(seqs):
        out[i, : len(x)] = torch.tensor(x, dtype=torch.long)
    return out


def collate(pairs: Sequence[tuple[list[int], list[int]]], pad: int, bos: int, eos: int) -> Batch:
    src = pad_sequences([s for s, _ in pairs], pad)
    tgt_in = pad_sequences([[bos] + t for _, t in pairs], pad)
    tgt_out = pad_sequences([t + [eos] for _, t in pairs], pad)
    lengths = torch.tensor([len(s) for s, _ in pairs])
    return Batch(src, lengths, tgt_in, tgt_out, int(sum(len(t) + 1 for _, t in pairs)))

