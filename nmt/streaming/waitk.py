"""Wait-k (Ma et al. 2019, STACL): read k source pieces, then write one target piece per piece
read, with a model trained prefix-to-prefix (``training.wait_k``, a unidirectional encoder).

The stream's value is a :class:`nmt.waitk.WaitKState`: the encoder's state advances with each
new piece (never re-encoding the prefix) and the decoder writes greedily over what has been
read. Everything written is committed: wait-k never takes a word back. Writing waits while
the lag is under k; EOS is held back until the source is complete, since only the end of the
source can end the translation. At the end the decoder writes until EOS, capped as offline
decoding is (``decoding.max_length_ratio`` and ``max_length_offset``).
"""

from __future__ import annotations

from nmt import waitk
from nmt.errors import NmtError

DEFAULT_LAG = 3


class WaitK:
    def __init__(self, k: int | None = None) -> None:
        self.k = DEFAULT_LAG if k is None else k
        if self.k < 1:
            raise NmtError(f"wait-k reads k source pieces before it writes; k must be at least 1, "
                           f"got {self.k}.")

    def start(self, translator, options) -> waitk.WaitKState:
        if translator.meta.get("ensemble"):
            raise NmtError("wait-k streams one model's encoder piece by piece; an ensemble "
                           "streams with the retranslate policy.")
        return waitk.start(translator.model, translator.device)

    def advance(self, translator, options, state: waitk.WaitKState, source: list[int],
                final: bool) -> tuple[waitk.WaitKState, list[int], list[int]]:
        tok = translator.tgt_tokenizer
        cap = int(len(source) * options.max_length_ratio + options.max_length_offset)
        for piece in source[state.read:]:
            state = waitk.read(translator.model, state, [piece])
            if state.read - len(state.written) >= self.k and not state.finished:
                # EOS only once the whole source is known (min_length one past what is written).
                state, _ = waitk.write(translator.model, state, bos=tok.bos_id, eos=tok.eos_id,
                                       max_len=max(cap, len(state.written) + 2), pad=tok.pad_id,
                                       min_length=len(state.written) + 1)
        if final and state.read:
            while not state.finished:
                state, _ = waitk.write(translator.model, state, bos=tok.bos_id, eos=tok.eos_id,
                                       max_len=max(cap, 1), pad=tok.pad_id,
                                       min_length=options.min_length)
        written = [t for t in state.written if t != tok.eos_id]
        return state, written, []
