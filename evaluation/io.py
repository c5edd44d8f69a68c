"""Read and write line-aligned text files for scoring.

Lines are split by nmt's one rule (``nmt.textio``): they end at ``\\n``, ``\\r\\n`` or ``\\r``,
never at U+2028, U+0085 or form feed, a leading byte-order mark is dropped, and the last line
needs no line end; so a file has the same number of lines here as in ``nmt translate``, the web
UI and the corpus loader. Each line is then ``rstrip()``-ed, as sacrebleu's command line does,
so scores equal that command's on the same files. The two differ only on files sacrebleu would
misread: a lone ``\\r`` (old Mac line ends) is a line end here, one line there, and a BOM is
dropped here, kept as part of the first word there. Files ending in ``.gz`` are decompressed,
as sacrebleu does.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Iterable

from nmt.errors import NmtError
from nmt.textio import decode_lines

__all__ = ["read_lines", "write_lines"]


def read_lines(path: str | Path) -> list[str]:
    """One string per line of a UTF-8 text file, each ``rstrip()``-ed as sacrebleu's CLI does.

    Raises NmtError, naming the file (and the line for bad bytes), when the file cannot be
    read as UTF-8 text, so a wrong path or a Latin-1 file stops the run with a fix to apply
    instead of a traceback or a silently different score.
    """
    path = Path(path)
    lines = decode_lines(_read_bytes(path), str(path))
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

