"""``manifest.json``: what an exported directory holds, and the check that it is intact.

The manifest is the one file a program in any language reads first: the format and its
version, each graph's inputs and outputs (names, element types, shapes with named dynamic
axes), the model's special ids and decoding defaults, and the SHA-256 of every other file.
Loading refuses a directory whose files differ from what the manifest records, so a truncated
copy or an edited graph fails with a message instead of translating wrongly. Like the
checkpoint's weights hash, this guards against accidents, not against someone who can also
rewrite the manifest.

Standard library only: the torch-free runtime and the exporter both use it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from nmt.errors import NmtError

MANIFEST = "manifest.json"
FORMAT = "nmt-onnx"
FORMAT_VERSION = 1
ENCODER, DECODER, OUTPUT_ROWS = "encoder.onnx", "decoder.onnx", "output_rows.onnx"
SRC_TOKENIZER, TGT_TOKENIZER = "src_tokenizer.json", "tgt_tokenizer.json"
SHORTLIST = "shortlist.safetensors"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_exported(model_dir: str | Path | None) -> bool:
    """Whether ``model_dir`` is an exported (ONNX) directory rather than an nmt model."""
    return model_dir is not None and (Path(model_dir) / MANIFEST).is_file()


def write(model_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Record every file of ``model_dir`` but the manifest with its SHA-256 and size, then
    write the manifest; returns what was written."""
    files = sorted(p for p in model_dir.iterdir() if p.is_file() and p.name != MANIFEST)
    manifest = {**manifest, "files": {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size}
                                      for p in files}}
    (model_dir / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    return manifest


def read(model_dir: str | Path, verify: bool = True) -> dict[str, Any]:
    """The manifest of an exported directory, its format checked and (``verify``) every file
    it lists hashed and compared."""
    model_dir = Path(model_dir)
    path = model_dir / MANIFEST
    if not path.is_file():
        raise NmtError(f"{str(model_dir)!r} is not an exported nmt model: it has no {MANIFEST} "
                       "(export one with `nmt export MODEL --format onnx --out DIR`).")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise NmtError(f"{path} is corrupt ({exc}); export the model again.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise NmtError(f"{path} does not describe an nmt ONNX export (format "
                       f"{manifest.get('format') if isinstance(manifest, dict) else None!r}).")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise NmtError(f"{model_dir} is an export of format version "
                       f"{manifest.get('format_version')!r}; this nmt reads version "
                       f"{FORMAT_VERSION}. Export the model again with this nmt, or use the nmt "
                       f"version it names ({manifest.get('nmt_version')}).")
    if verify:
        check_files(model_dir, manifest)
    return manifest


def check_files(model_dir: Path, manifest: dict[str, Any]) -> None:
    """Every file the manifest lists exists and has the recorded SHA-256."""
    for name, entry in manifest.get("files", {}).items():
        path = model_dir / name
        if not path.is_file():
            raise NmtError(f"{path} is missing: the export in {model_dir} is incomplete. Copy "
                           "the whole directory again, or export the model again.")
        actual = sha256(path)
        if actual != entry.get("sha256"):
            raise NmtError(
                f"{path} was modified, truncated or partially copied after export: its SHA-256 "
                f"is {actual[:12]}..., {MANIFEST} records {str(entry.get('sha256'))[:12]}... "
                "Copy the directory again or export the model again "
                "(nmt export MODEL --format onnx --out DIR).")
