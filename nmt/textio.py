"""What a line of user text is: one rule for every reader of sentence-per-line files.

``nmt translate``, the web UI's file upload, ``nmt evaluate`` and the corpus loader all read
text "one sentence per line". If they split lines differently, one file gives different line
counts, and a translation or a score silently pairs the wrong sentences. So they all read
through this module, whose rule is:

- lines end at ``\\n``, ``\\r\\n`` or ``\\r``, and nowhere else: not at form feed,
  ``\\x1c``-``\\x1e``, ``\\x85`` (NEL) or U+2028/U+2029, which ``str.splitlines`` also breaks at
  and which real sentences contain (PDF extractions, Word exports);
- a leading byte-order mark (as Windows editors write) is not text and is dropped;
- the last line needs no line end, and a final line end makes no extra empty line;
- the bytes must be UTF-8: anything else is an NmtError naming the line, counted by the same
  rule, so the number it gives is the line the user sees in an editor.

What a caller then does with a line's content (``rstrip`` for scoring, length limits in the UI)
is the caller's business; where lines end is not.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from nmt.errors import NmtError

__all__ = ["LINE_END", "NotUtf8Error", "decode_lines", "read_lines", "split_lines",
           "write_atomically"]

# The only line ends; \r\n comes first so that it is one end, not two.
LINE_END = re.compile(r"\r\n|\r|\n")
_BOM = "\ufeff"
# Byte-order marks of UTF-16, which Windows editors save text in by accident.
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class NotUtf8Error(NmtError):
    """A file is not UTF-8; says where (1-based line and byte of that line) and what to do.

    Callers that speak to someone other than a command-line user (the web UI) reword it from
    the attributes; the line number is the one this module's rule gives.
    """

    def __init__(self, name: str, line: int, column: int, byte: int, guess: str = "LATIN1") -> None:
        self.name, self.line, self.column, self.byte = name, line, column, byte
        super().__init__(
            f"{name}: line {line} is not valid UTF-8 (byte 0x{byte:02x} at byte {column} of the "
            f"line). nmt reads UTF-8 only; convert the file, e.g. "
            f"`iconv -f {guess} -t UTF-8 {name} > {name}.utf8` (use the file's real encoding)."
        )


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` by the rule above (``[]`` for empty text, ``[""]`` for ``"\\n"``)."""
    text = text.removeprefix(_BOM)
    if not text:
        return []
    lines = LINE_END.split(text)
    if lines[-1] == "":  # the end of the last line, not the start of another
        lines.pop()
    return lines


def decode_lines(data: bytes, name: str) -> list[str]:
    """The lines of UTF-8 ``data``; ``name`` is how the file is called in the error message."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(data, exc.start, name) from None
    return split_lines(text)


def read_lines(path: str | Path) -> list[str]:
    """The lines of the UTF-8 text file at ``path``, or an NmtError a user can act on."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NmtError(f"{path}: no such file; check the path.") from None
    except IsADirectoryError:
        raise NmtError(f"{path} is a directory; give the path of a text file.") from None
    except OSError as exc:
        raise NmtError(f"cannot read {path}: {exc.strerror or exc}.") from None
    return decode_lines(data, str(path))


def _not_utf8(data: bytes, start: int, name: str) -> NotUtf8Error:
    # Everything before ``start`` decoded, so the line count uses the same rule as the text.
    before = data[:start].decode("utf-8")
    ends = list(LINE_END.finditer(before))
    # A \r just before the bad byte might be the first half of a \r\n; either way a line ended.
    line_start = len(before[: ends[-1].end()].encode("utf-8")) if ends else 0
    guess = "UTF-16" if data.startswith(_UTF16_BOMS) else "LATIN1"
    return NotUtf8Error(name, len(ends) + 1, start - line_start + 1, data[start], guess)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, line ends as given) through a temporary name in the same
    directory, so a kill never leaves half a file where the user's output goes."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
