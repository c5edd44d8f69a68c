"""Uploaded text files in, translated text files out.

An upload is untrusted: its size, its encoding and its line count are all checked
here, on the server, before any decoding starts, and every refusal says what to fix.
Output files live in one directory per app and are pruned after a while, so a
long-running server does not fill the disk.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

from nmt.errors import NmtError
from nmt.textio import NotUtf8Error, decode_lines
from nmt.ui import limits

# Generous: a download link must outlive the time a user takes to click it.
KEEP_OUTPUTS_S = 3600


def read_lines(path: str | os.PathLike[str], name: str | None = None) -> list[str]:
    """The lines of an uploaded UTF-8 text file, refusing anything over the limits.

    `name` is how the file is called in messages (the upload's own name, not the
    server's temporary path).
    """
    path = Path(path)
    name = name or path.name
    try:
        size = path.stat().st_size
    except OSError:
        raise NmtError(
            f"The uploaded file {name} could not be read; please upload it again."
        ) from None
    if size > limits.MAX_UPLOAD_BYTES:
        raise NmtError(
            f"{name} is {limits.human_bytes(size)}; the limit is "
            f"{limits.human_bytes(limits.MAX_UPLOAD_BYTES)}. Split it into smaller files."
        )
    data = path.read_bytes()[: limits.MAX_UPLOAD_BYTES + 1]
    lines = _decode(data, name)
    if len(lines) > limits.MAX_FILE_LINES:
        raise NmtError(
            f"{name} has {len(lines):,} lines; the limit is {limits.MAX_FILE_LINES:,}. "
            "Split it into smaller files."
        )
    for number, line in enumerate(lines, start=1):
        if len(line) > limits.MAX_CHARS:
            raise NmtError(
                f"Line {number} of {name} is {len(line):,} characters long; the limit is "
                f"{limits.MAX_CHARS:,} per line. Put one sentence on each line."
            )
    return lines


def _decode(data: bytes, name: str) -> list[str]:
    """The lines by nmt's one rule (``nmt.textio``), as ``nmt translate`` would read the file,
    or an error naming the first bad line, worded for someone uploading in a browser."""
    try:
        lines = decode_lines(data, name)
    except NotUtf8Error as exc:
        raise NmtError(
            f"{name} is not UTF-8 text: line {exc.line}, byte {exc.column} (0x{exc.byte:02x}) "
            "cannot be decoded. Save the file as UTF-8 and upload it again."
        ) from None
    for number, line in enumerate(lines, start=1):
        if "\x00" in line:
            raise NmtError(
                f"{name} looks like a binary file (a NUL character on line {number}); "
                "upload plain text, one sentence per line."
            )
    return lines


def output_name(upload_name: str, tgt_lang: str) -> str:
    """'notes.txt' translated into French becomes 'notes.fr.txt'."""
    stem = Path(upload_name).stem or "translation"
    stem = re.sub(r"[^\w.-]+", "_", stem)[:100]
    lang = re.sub(r"[^\w-]+", "_", tgt_lang)[:20] or "out"
    return f"{stem}.{lang}.txt"


def make_output_dir() -> Path:
    """A private directory for this app's outputs, under GRADIO_TEMP_DIR when that is set.

    Gradio only serves files from its temporary directories (and ones it is told about),
    so outputs are written where it will agree to hand them out.
    """
    base = os.environ.get("GRADIO_TEMP_DIR") or None
    if base:
        Path(base).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="nmt-ui-", dir=base))


def write_lines(out_dir: Path, name: str, lines: list[str]) -> Path:
    """Write one translated file into its own subdirectory (so names never collide)."""
    _prune(out_dir)
    target = Path(tempfile.mkdtemp(dir=out_dir)) / name
    target.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return target


def _prune(out_dir: Path) -> None:
    """Delete outputs older than KEEP_OUTPUTS_S; races with another request are harmless."""
    cutoff = time.time() - KEEP_OUTPUTS_S
    for sub in out_dir.iterdir():
        try:
            if sub.stat().st_mtime < cutoff:
                for file in sub.iterdir():
                    file.unlink()
                sub.rmdir()
        except OSError:
            pass
