"""Read and write line-aligned text files exactly as the ``sacrebleu`` command line does.

Scores are only comparable across tools when every tool sees the same strings, so reading
follows sacrebleu's CLI to the letter: UTF-8, lines split on ``\\n`` only (never on ``\\r``,
U+2028, U+0085 or form feed, which ``str.splitlines`` would split on), and each line
``rstrip()``-ed, which also drops the ``\\r`` of a ``\\r\\n`` ending. A UTF-8 byte-order mark
is kept, as sacrebleu keeps it. Files ending in ``.gz`` are decompressed, as sacrebleu does.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Iterable

from nmt.errors import NmtError

__all__ = ["read_lines", "write_lines"]

# Byte-order marks of encodings people often save text in by accident (Windows editors).
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def read_lines(path: str | Path) -> list[str]:
    """One string per line of a UTF-8 text file, cleaned the way sacrebleu's CLI cleans it.

    Raises NmtError, naming the file (and the line for bad bytes), when the file cannot be
    read as UTF-8 text, so a wrong path or a Latin-1 file stops the run with a fix to apply
    instead of a traceback or a silently different score.
    """
    path = Path(path)
    data = _read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise NmtError(_decode_message(path, data, err)) from None
    lines = text.split("\n")
    if lines[-1] == "":
        # The terminator of the last line (or an empty file) makes no extra line.
        lines.pop()
    return [line.rstrip() for line in lines]


def write_lines(path: str | Path, lines: Iterable[str], *, force: bool = False) -> None:
    """Write one line per string, refusing to replace an existing file unless ``force``.

    Exclusive creation (mode ``x``) makes the no-overwrite promise hold even if the file
    appears between a caller's check and the write. A string holding a line break would
    shift every later line out of alignment with the references, so it is refused.
    """
    path = Path(path)
    text_lines = list(lines)
    for number, line in enumerate(text_lines, 1):
        if "\n" in line or "\r" in line:
            raise NmtError(
                f"{path}: cannot write line {number}: the text contains a line break, which "
                "would misalign the file with its references; remove line breaks first"
            )
    mode = "wt" if force else "xt"
    try:
        if path.suffix == ".gz":  # read_lines (and sacrebleu) will decompress it
            out = gzip.open(path, mode, encoding="utf-8", newline="\n")
        else:
            out = open(path, mode, encoding="utf-8", newline="\n")
        with out:
            out.writelines(line + "\n" for line in text_lines)
    except FileExistsError:
        raise NmtError(
            f"{path} already exists; choose another file or pass --force to overwrite it"
        ) from None
    except IsADirectoryError:
        raise NmtError(f"{path} is a directory; give a file name to write to") from None
    except FileNotFoundError:
        raise NmtError(
            f"cannot write {path}: folder {path.parent} does not exist; create it first"
        ) from None
    except OSError as err:
        raise NmtError(f"cannot write {path}: {err.strerror or err}") from None


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise NmtError(f"{path}: no such file; check the path") from None
    except IsADirectoryError:
        raise NmtError(f"{path} is a directory; give the path of a text file") from None
    except PermissionError:
        raise NmtError(f"{path}: permission denied; check the file's permissions") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as err:
        raise NmtError(
            f"{path}: not a valid gzip file ({err}); decompress it or drop the .gz suffix"
        ) from None
    except OSError as err:
        raise NmtError(f"cannot read {path}: {err.strerror or err}") from None


def _decode_message(path: Path, data: bytes, err: UnicodeDecodeError) -> str:
    """Point at the first bad byte by line and column, and say how to convert the file."""
    line_start = data.rfind(b"\n", 0, err.start) + 1
    line = data.count(b"\n", 0, err.start) + 1
    column = err.start - line_start + 1
    bad = data[err.start : err.start + 1].hex()
    source = "UTF-16" if data.startswith(_UTF16_BOMS) else "LATIN1"
    return (
        f"{path}: line {line} is not valid UTF-8 (byte 0x{bad} at byte {column} of the line). "
        f"nmt reads UTF-8 only; convert the file, e.g. "
        f"`iconv -f {source} -t UTF-8 {path} > {path}.utf8` (use the file's real encoding)"
    )
