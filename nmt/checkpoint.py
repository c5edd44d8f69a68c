"""Model directories: resolved config, safetensors weights, tokenizers' JSON, provenance.

Nothing here unpickles: weights are safetensors, everything else is YAML/JSON, so loading an
untrusted model runs no code. Every file is written to a temporary name and renamed into place,
so a kill during a save leaves the previous version intact.

``nmt.json`` records the SHA-256 of ``model.safetensors`` (``weights_sha256``); loading checks it,
so a weights file changed on disk after it was saved (a flipped bit, a half-finished copy, an
edit) is refused instead of translating with silently wrong weights. It guards against accidents,
not against someone who can also rewrite ``nmt.json``. Models saved before the key existed load
without the check.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model

import nmt
from nmt import config as config_mod
from nmt import registry
from nmt.errors import NmtError
from nmt.model import Seq2Seq, build_model
from nmt.shortlist import Shortlist

FORMAT_VERSION = 1
_UMASK = os.umask(0)
os.umask(_UMASK)
CONFIG, WEIGHTS, META = "config.yaml", "model.safetensors", "nmt.json"
SRC_TOKENIZER, TGT_TOKENIZER = "src_tokenizer.json", "tgt_tokenizer.json"
SHORTLIST = "shortlist.safetensors"  # optional: a lexical shortlist for faster decoding
# The weights' SHA-256, and (only while a save is between its two renames) the previous one.
SHA256, SHA256_REPLACING = "weights_sha256", "weights_sha256_replacing"


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` then rename the result over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def save_static(model_dir: Path, cfg: config_mod.Config, src_tok, tgt_tok) -> None:
    """What does not change during training: the config and the tokenizers."""
    write_text(model_dir / CONFIG, cfg.to_yaml())
    atomic_write(model_dir / SRC_TOKENIZER, src_tok.save)
    atomic_write(model_dir / TGT_TOKENIZER, tgt_tok.save)


def file_sha256(path: Path) -> str:
    """The file's SHA-256, read in blocks: the exported runtime's function (torch-free), so a
    checkpoint and an export hash their files the one way."""
    from nmt.runtime.manifest import sha256

    return sha256(path)


def save_weights(
    model_dir: Path, model: Seq2Seq, meta: dict[str, Any], dtype: torch.dtype | None = None
) -> None:
    """Weights and metadata, with the weights' SHA-256 recorded in the metadata.

    The two files cannot be replaced in one step, so the metadata goes first, accepting the old
    or the new weights' hash; then the weights; then the metadata again with the new hash only.
    A kill at any moment leaves a pair that loads.

    ``save_model`` stores a tied or shared matrix once. ``dtype`` (e.g. fp16) shrinks the file;
    loading casts back to the model's own dtype. Any hash in ``meta`` (e.g. copied from the model
    being exported) is replaced by this file's own.
    """
    if dtype is not None:
        model = copy.deepcopy(model).to(dtype)
    model_dir.mkdir(parents=True, exist_ok=True)
    meta = {k: v for k, v in meta.items() if k not in (SHA256, SHA256_REPLACING)}
    full = {"format_version": FORMAT_VERSION, "nmt_version": nmt.__version__, **meta}
    old = _recorded_sha256(model_dir)
    fd, tmp = tempfile.mkstemp(dir=model_dir, prefix=f".{WEIGHTS}.", suffix=".tmp")
    os.close(fd)
    try:
        save_model(model, tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual mode
        new = file_sha256(Path(tmp))
        pending = {**full, SHA256: new}
        if old is not None and old != new:
            pending[SHA256_REPLACING] = old
        _write_meta(model_dir, pending)
        os.replace(tmp, model_dir / WEIGHTS)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    if SHA256_REPLACING in pending:
        _write_meta(model_dir, {**full, SHA256: new})


def _recorded_sha256(model_dir: Path) -> str | None:
    """The hash the current weights are checked against when loaded: the one in ``nmt.json``.

    Reading it, rather than hashing the old weights again, saves a full read of the file on every
    save, and never blesses weights that were changed on disk since they were saved. Only a model
    from before hashes were recorded has its file hashed."""
    try:
        recorded = json.loads((model_dir / META).read_text(encoding="utf-8")).get(SHA256)
    except (OSError, ValueError, AttributeError):
        recorded = None
    if recorded is None and (model_dir / WEIGHTS).is_file():
        return file_sha256(model_dir / WEIGHTS)
    return recorded


def _write_meta(model_dir: Path, meta: dict[str, Any]) -> None:
    write_text(model_dir / META, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")


@dataclass
class LoadedModel:
    model: Seq2Seq
    config: config_mod.Config
    src_tokenizer: Any
    tgt_tokenizer: Any
    meta: dict[str, Any]
    shortlist: Shortlist | None = None


def load(model_dir: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a model directory, with an actionable error for every way it can be broken."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise NmtError(f"model directory {str(model_dir)!r} does not exist (train one with `nmt train`).")
    static = run_files(model_dir)
    missing = [n for n in (WEIGHTS, META) if not (model_dir / n).is_file()] + [
        n for n in (CONFIG, SRC_TOKENIZER, TGT_TOKENIZER) if not (static / n).is_file()]
    if missing:
        raise NmtError(
            f"{str(model_dir)!r} is not a complete nmt model directory: missing {', '.join(missing)}."
        )
    try:
        meta = json.loads((model_dir / META).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise NmtError(f"{model_dir / META} is corrupt ({exc}); re-export or retrain the model.") from exc
    if meta.get("format_version") != FORMAT_VERSION:
        raise NmtError(
            f"{model_dir} has checkpoint format {meta.get('format_version')!r}; this nmt "
            f"{nmt.__version__} reads format {FORMAT_VERSION}. Use a matching nmt version."
        )
    _check_components(meta)
    _check_sha256(model_dir, meta)
    cfg = config_mod.load(static / CONFIG)
    tok_class = registry.load("tokenizers", cfg.tokenizer.type)
    try:
        src_tok = tok_class.load(static / SRC_TOKENIZER)
        tgt_tok = tok_class.load(static / TGT_TOKENIZER)
    except Exception as exc:
        raise NmtError(f"the tokenizer files in {static} are corrupt: {exc}") from exc
    model, _ = build_model(cfg.model, src_tok.vocab_size, tgt_tok.vocab_size)
    try:
        load_model(model, str(model_dir / WEIGHTS), strict=True)
    except (SafetensorError, OSError, ValueError) as exc:
        raise NmtError(
            f"{model_dir / WEIGHTS} is not a readable safetensors file ({exc}); it may be truncated "
            "or tampered with. Restore it from a backup or retrain."
        ) from exc
    except RuntimeError as exc:
        first = " ".join(str(exc).split())[:300]
        raise NmtError(f"{model_dir / WEIGHTS} does not match {static / CONFIG}: {first}") from exc
    model.to(device).eval()
    return LoadedModel(model, cfg, src_tok, tgt_tok, meta, load_shortlist(static, src_tok, tgt_tok))


def run_files(model_dir: Path) -> Path:
    """Where a model directory's config, tokenizers and shortlist are: in it, or, for one of a
    run's kept best checkpoints (``RUN/best/step-N``, weights and nmt.json only), in the run,
    so that a checkpoint loads (and joins an ensemble) without being exported first."""
    run = model_dir.parent.parent
    if (not (model_dir / CONFIG).is_file() and model_dir.parent.name == "best"
            and (run / CONFIG).is_file()):
        return run
    return model_dir


def load_shortlist(model_dir: Path, src_tok, tgt_tok) -> Shortlist | None:
    """The model's shortlist if it has one (models trained before shortlists have none)."""
    path = model_dir / SHORTLIST
    if not path.is_file():
        return None
    try:
        shortlist = Shortlist.load(path)
    except (SafetensorError, OSError, KeyError, ValueError, RuntimeError) as exc:
        raise NmtError(f"{path} is corrupt ({exc}); delete it to decode over the whole "
                       "vocabulary, or restore it from the run the model came from.") from exc
    ids = torch.cat([shortlist.table[shortlist.table >= 0], shortlist.frequent])
    if shortlist.table.size(0) != src_tok.vocab_size or ids.numel() == 0 or not (
            0 <= int(ids.min()) and int(ids.max()) < tgt_tok.vocab_size):
        raise NmtError(f"{path} does not match the model's vocabularies; delete it to decode "
                       "over the whole vocabulary.")
    return shortlist


def _check_sha256(model_dir: Path, meta: dict[str, Any]) -> None:
    """Refuse weights that differ from the ones saved (models without a hash are not checked)."""
    recorded = meta.get(SHA256)
    if recorded is None:
        return
    actual = file_sha256(model_dir / WEIGHTS)
    if actual not in (recorded, meta.get(SHA256_REPLACING)):
        raise NmtError(
            f"{model_dir / WEIGHTS} was modified, truncated or partially written after it was "
            f"saved: its SHA-256 is {actual[:12]}..., {META} records {str(recorded)[:12]}... "
            "Restore the directory from a backup, re-export it from the run it came from "
            "(nmt export RUN --out DIR), or retrain."
        )


def _check_components(meta: dict[str, Any]) -> None:
    """Say which package to install when a checkpoint names a component we do not have."""
    for role, info in meta.get("components", {}).items():
        kind = registry.ROLES.get(role)
        if kind and info.get("name") not in registry.components(kind):
            raise NmtError(
                f"this model needs the {role} {info.get('name')!r} from the package "
                f"{info.get('distribution')!r} (version {info.get('version')}), which is not "
                f"installed: pip install '{info.get('distribution')}' if your package index has "
                "it; a plugin that is on no index installs from its source: pip install "
                "PATH_OR_GIT_URL"
            )
