"""Wait-k (Ma et al. 2019, STACL): read k source pieces, then write one target piece per piece
read, with a model trained prefix-to-prefix (``training.wait_k``)."""

from __future__ import annotations

from typing import Any

from nmt.errors import NmtError

DEFAULT_LAG = 3


class WaitK:
    def __init__(self, k: int | None = None) -> None:
        self.k = DEFAULT_LAG if k is None else k
        if self.k < 1:
            raise NmtError(f"wait-k reads k source pieces before writing; k must be at least 1, got {self.k}.")

    def start(self, translator, options) -> Any:
        raise NmtError("wait-k is not available yet")

    def advance(self, translator, options, state, source, final):
        raise NmtError("wait-k is not available yet")
