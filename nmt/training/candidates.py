"""Training against a per-batch output vocabulary (Jean et al. 2015, "On using very large target
vocabulary for neural machine translation"; ``training.output_candidates``).

The output layer is the largest product per target token (hidden x vocabulary, forward and
backward). Each batch instead scores a candidate set: its own gold pieces, the most frequent
pieces, and optionally pieces sampled uniformly from the rest. The gold and frequent ones are
certain members, so their logits need no correction; a sampled piece stands for the
``rest / sampled`` pieces it was drawn among, so its logit gets ``+log(rest / sampled)`` (the
sampled-softmax correction: ``sum_j exp(z_j + c_j)`` over the candidates is then an unbiased
estimate of the whole softmax's normaliser). Without sampled pieces the pieces outside every
batch are never pushed down, and a model trained this way over-predicts rare pieces once it
decodes with the whole vocabulary; the sampled ones fix that at a small cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

IGNORED = -100  # the target of a padding position under a per-batch output vocabulary


@dataclass(frozen=True)
class OutputSample:
    """One batch's output vocabulary.

    vocab: (n,) sorted target ids, the rows the decoder scores.
    targets: (batch, tgt_len) gold positions in ``vocab``; :data:`IGNORED` at padding.
    weight: (n,) how many ids of the whole vocabulary each row stands for: 1 for a certain
        member, ``rest / sampled`` for a sampled one (its logit's correction is ``log weight``).
    """

    vocab: Tensor
    targets: Tensor
    weight: Tensor


def frequent_targets(examples: list[tuple[list[int], list[int]]], vocab_size: int, eos_id: int,
                     n: int) -> Tensor:
    """The ``n`` most frequent target ids of ``examples`` (every sentence's end counted once),
    sorted by id: the fixed part of every batch's candidate set."""
    pieces = torch.tensor([i for _, target in examples for i in target], dtype=torch.long)
    counts = torch.bincount(pieces, minlength=vocab_size)
    counts[eos_id] += len(examples)
    return torch.argsort(counts, descending=True, stable=True)[: min(n, vocab_size)].sort().values


def candidate_vocabulary(tgt_out: Tensor, frequent: Tensor, pad: int, vocab_size: int,
                         negatives: int = 0, generator: torch.Generator | None = None,
                         ) -> OutputSample:
    """The candidate set of a batch with targets ``tgt_out`` (batch, tgt_len): its own pieces,
    ``frequent``, and ``negatives`` ids drawn uniformly without replacement from the rest."""
    certain = torch.unique(torch.cat([tgt_out.reshape(-1), frequent]))  # sorted
    vocab, weight = certain, torch.ones(len(certain), device=certain.device)
    rest = vocab_size - len(certain)
    drawn = min(negatives, rest)
    if drawn:
        outside = torch.ones(vocab_size, dtype=torch.bool, device=certain.device)
        outside[certain] = False
        pool = outside.nonzero().squeeze(1)
        picks = pool[torch.randperm(rest, generator=generator, device="cpu")[:drawn].to(pool.device)]
        vocab, order = torch.cat([certain, picks]).sort()
        weight = torch.cat([weight, torch.full((drawn,), rest / drawn, device=weight.device)])[order]
    targets = torch.searchsorted(vocab, tgt_out).masked_fill(tgt_out == pad, IGNORED)
    return OutputSample(vocab, targets, weight)


def candidate_cross_entropy(logits: Tensor, sample: OutputSample, smoothing: float,
                            vocab_size: int) -> Tensor:
    """Summed label-smoothed cross-entropy over a candidate set, estimating the whole softmax's.

    logits: (batch, tgt_len, n) over ``sample.vocab``. With ``p`` over the whole vocabulary
    ``V``, the loss per token is ``(1 - eps) * -log p(gold) + eps / V * sum_i -log p(i)``
    (label smoothing as torch's ``cross_entropy`` has it); here ``log p(i) = z_i - log Z`` with
    ``Z`` estimated over the corrected candidates, and the smoothing sum over the rest of the
    vocabulary estimated by each sampled row times its weight. With every id a candidate this
    is exactly torch's whole-softmax loss; without sampled rows the pieces outside the set get
    no smoothing term.
    """
    z = logits.float().reshape(-1, logits.size(-1))
    targets = sample.targets.reshape(-1)
    real = targets != IGNORED
    z, targets = z[real], targets[real]
    log_p = z - torch.logsumexp(z + sample.weight.log(), dim=-1, keepdim=True)
    loss = -(1.0 - smoothing) * log_p.gather(1, targets[:, None]).sum()
    if smoothing:
        loss = loss - smoothing / vocab_size * (log_p @ sample.weight).sum()
    return loss

