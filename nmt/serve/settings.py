"""Every limit and switch of the translation service, in one checked value.

The defaults are the safe ones: a server that someone starts without reading the docs binds to
this machine only, refuses bodies and texts that would tie up the model for long, answers 503
instead of queueing without end, and lets no browser page on another origin call it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nmt.errors import NmtError

# The web UI's numbers (nmt.ui.limits), so a text that the UI accepts the API accepts too.
MAX_CHARS = 2000
MAX_BEAM = 10
MAX_LENGTH_PENALTY = 2.0
MAX_NBEST = 5


@dataclass(frozen=True)
class ServeSettings:
    """What `nmt serve` is started with; :meth:`check` rejects impossible combinations."""

    # Requests: refused with 413 before the body is read in full, or with 400 after parsing.
    max_body_bytes: int = 256 * 1024
    max_chars: int = MAX_CHARS  # one text (a LibreTranslate `q` item, a /v1 text)
    max_texts: int = 64  # texts in one request (`q` as a list)
    max_total_chars: int = 20_000  # all the texts of one request together
    # The batcher: how many sentences one search takes, how long the oldest waits for company,
    # how many may wait (then 503), and how long one request may take in all (then 503).
    max_batch: int = 32
    max_wait_ms: float = 5.0
    max_queue: int = 256
    batching: bool = True
    timeout_s: float = 30.0
    # Access: API keys (none: open), browser origins allowed by CORS (none: CORS off).
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    cors_origins: tuple[str, ...] = ()
    ui: bool = False  # the web UI at /ui, through the same batcher

    def check(self) -> ServeSettings:
        """Self, or an NmtError naming the setting that cannot work."""
        for name in ("max_body_bytes", "max_chars", "max_texts", "max_total_chars", "max_batch",
                     "max_queue"):
            if getattr(self, name) < 1:
                raise NmtError(f"--{name.replace('_', '-')} must be at least 1.")
        if self.max_wait_ms < 0 or self.max_wait_ms > 1000:
            raise NmtError("--max-wait-ms must be from 0 to 1000 (milliseconds).")
        if not self.timeout_s > 0:
            raise NmtError("--timeout must be a positive number of seconds.")
        if self.max_texts > self.max_queue:
            raise NmtError(f"--max-texts ({self.max_texts}) is larger than --max-queue "
                           f"({self.max_queue}): such a request could never be queued.")
        return self
