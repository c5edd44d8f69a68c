"""API keys: read from a file, checked in constant time, never kept or shown in clear.

A key file holds one key per line; blank lines and lines starting with ``#`` are ignored, so an
operator can comment who each key belongs to. Keys are kept only as SHA-256 digests, and a
presented key is compared with every digest by :func:`hmac.compare_digest` without stopping at
the first match, so neither the time an answer takes nor a memory dump gives a key away. Nothing
here logs, and no error message repeats what a client sent.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from nmt.errors import NmtError


def read_key_file(path: str | Path) -> tuple[str, ...]:
    """The keys in ``path``; an NmtError when it cannot be read or holds none."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NmtError(f"--api-key-file {path}: no such file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NmtError(f"--api-key-file {path}: cannot read it ({exc}).") from None
    keys = tuple(line.strip() for line in text.splitlines()
                 if line.strip() and not line.lstrip().startswith("#"))
    if not keys:
        raise NmtError(f"--api-key-file {path} holds no key (one key per line; # starts a "
                       "comment). Without keys, leave the option out.")
    short = [i for i, key in enumerate(keys) if len(key) < 16]
    if short:
        raise NmtError(f"--api-key-file {path}: key number {short[0] + 1} is shorter than 16 "
                       "characters, which is guessable; use e.g. `python -c 'import secrets; "
                       "print(secrets.token_urlsafe(24))'`.")
    return keys


class KeyRing:
    """The accepted keys; ``KeyRing(())`` accepts every request (no keys configured)."""

    def __init__(self, keys: tuple[str, ...] | list[str]) -> None:
        self._digests = [hashlib.sha256(k.encode("utf-8")).digest() for k in keys]

    @property
    def required(self) -> bool:
        return bool(self._digests)

    def accepts(self, presented: str | None) -> bool:
        """Whether ``presented`` is one of the keys (always true when none are configured)."""
        if not self._digests:
            return True
        if not isinstance(presented, str) or not presented:
            return False
        digest = hashlib.sha256(presented.encode("utf-8", "replace")).digest()
        found = False
        for known in self._digests:  # no early exit: every key costs the same
            found |= hmac.compare_digest(digest, known)
        return found

    def __repr__(self) -> str:  # never the keys, not even their digests
        return f"KeyRing({len(self._digests)} keys)"
