"""Prefix pairs for re-translation (Arivazhagan et al. 2020, "Re-translation versus streaming
for simultaneous translation", section 4: prefix augmentation).

A model trained on whole sentences, asked to translate the first words of a sentence, invents
the rest of it; each new word then changes the invented part, and a live display flickers.
Adding pairs of a *source prefix* with the *proportional target prefix* teaches the model to
translate only what it has read and stop, so successive translations of a growing prefix
extend one another. Cuts fall on word boundaries (whitespace), because a live stream reads
whole words (:mod:`nmt.streaming`) and because a cut inside a word would teach the model pieces
it never sees at translation time.
"""

from __future__ import annotations

import random

__all__ = ["prefix_pairs"]


def prefix_pairs(src: list[str], tgt: list[str], fraction: float,
                 seed: int) -> tuple[list[str], list[str]]:
    """Extra training pairs: for ``fraction`` of the pairs (chosen with ``seed``), a source cut
    after ``i`` of its ``m`` words, ``i`` uniform in ``1..m-1``, with the first
    ``max(1, round(i * n / m))`` of the target's ``n`` words.

    Pairs whose source has a single word have no proper prefix and are skipped. The same
    corpus, fraction and seed give the same pairs, so a run (and its resumption) is repeatable.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be in [0, 1], got {fraction}")
    rng = random.Random(seed)
    chosen = rng.sample(range(len(src)), round(fraction * len(src)))
    out_src, out_tgt = [], []
    for index in sorted(chosen):
        source, target = src[index].split(), tgt[index].split()
        if len(source) < 2 or not target:
            continue
        cut = rng.randint(1, len(source) - 1)
        keep = max(1, round(cut * len(target) / len(source)))
        out_src.append(" ".join(source[:cut]))
        out_tgt.append(" ".join(target[:keep]))
    return out_src, out_tgt
