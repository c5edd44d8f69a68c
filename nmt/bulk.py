"""Bulk translation in shards: several processes (torchrun, any number of nodes) share one input,
and a killed run continues where it stopped.

    torchrun --nproc_per_node 4 -m nmt translate -i big.en -o big.fr [--resume]

The input is cut into shards of ``shard_lines`` lines; shard ``i`` belongs to rank
``i % world_size`` (RANK and WORLD_SIZE as torchrun sets them, across nodes too). Each rank writes
each finished shard to its own file in a parts directory beside the output, through a temporary
name, so a shard file that exists is complete. Rank 0, once every shard file is there, joins them
in input order into the output (again through a temporary name) and removes the parts. The result
is byte for byte what one process writes, since a sentence's translation does not depend on the
batch it is in.

The parts directory's name carries a digest of the input and of everything that changes the
output (model, settings, shard size), so ``--resume`` can only ever pick up shards made from the
same input the same way, and no two runs' parts are mixed. Without ``--resume`` every shard is
translated again.

Ranks meet through the file system, not a process group: rank 0 must read the other ranks' shard
files anyway (multi-node runs need the output directory on a shared file system), and a
collective barrier would time out when one rank is much slower than the others. If a rank dies,
torchrun stops the rest, and ``--resume`` continues.

This module imports no torch: it serves the exported (onnxruntime) translator as well.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nmt.errors import NmtError
from nmt.textio import LINE_END, write_atomically

DEFAULT_SHARD_LINES = 1000
_POLL_S = 0.5


@dataclass(frozen=True)
class World:
    """This process's place among the translating processes (from torchrun's environment)."""

    rank: int = 0
    size: int = 1

    @classmethod
    def from_environment(cls) -> World:
        try:
            size, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
        except ValueError:
            raise NmtError("RANK and WORLD_SIZE must be whole numbers (torchrun sets them).") from None
        if not 0 <= rank < size:
            raise NmtError(f"RANK {rank} is not below WORLD_SIZE {size}.")
        return cls(rank, size)


def is_distributed_launch() -> bool:
    """Whether torchrun (or anything setting WORLD_SIZE > 1) started this process."""
    return World.from_environment().size > 1


def parts_dir(output: Path, lines: Sequence[str], settings: dict, shard_lines: int) -> Path:
    """Where the shards of this input, translated with these settings, are kept."""
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode("utf-8", "surrogatepass") + b"\n")
    digest.update(json.dumps({"settings": settings, "shard_lines": shard_lines},
                             sort_keys=True, default=str).encode())
    return output.with_name(f"{output.name}.parts-{digest.hexdigest()[:16]}")


def translate_in_shards(
    translate: Callable[[list[str]], list[str]], lines: Sequence[str], output: Path,
    settings: dict, *, shard_lines: int = DEFAULT_SHARD_LINES, resume: bool = False,
    world: World | None = None, log: Callable[[str], None] | None = None,
) -> bool:
    """Translate this rank's shards of ``lines`` with ``translate`` and, on rank 0, write the
    whole ``output`` once every shard is done; returns whether this process wrote it.

    ``settings`` is everything besides the input that changes the translations (model,
    decoding options): it names the parts directory, so ``resume`` reuses only matching shards.
    """
    if shard_lines < 1:
        raise NmtError("--shard-lines must be at least 1.")
    world = world or World.from_environment()
    log = log or (lambda message: print(f"nmt translate: {message}", file=sys.stderr, flush=True))
    parts = parts_dir(output, lines, settings, shard_lines)
    parts.mkdir(parents=True, exist_ok=True)
    shards = [(start, min(start + shard_lines, len(lines)))
              for start in range(0, len(lines), shard_lines)]
    mine = [i for i in range(len(shards)) if i % world.size == world.rank]
    done = [i for i in mine if resume and _shard_path(parts, i).is_file()]
    if resume and world.rank == 0:
        log(f"resuming in {parts}")
    if done:
        log(f"rank {world.rank}: {len(done)} of its {len(mine)} shards were already done")
    for i in mine:
        if i in done:
            continue
        start, end = shards[i]
        out = translate(list(lines[start:end]))
        write_atomically(_shard_path(parts, i), "".join(LINE_END.sub(" ", t) + "\n" for t in out))
    if world.rank != 0:
        return False
    _wait_for([_shard_path(parts, i) for i in range(len(shards))])
    text = []
    for i, (start, end) in enumerate(shards):
        shard = _shard_path(parts, i).read_text(encoding="utf-8")
        if shard.count("\n") != end - start:
            raise NmtError(f"{_shard_path(parts, i)} holds {shard.count(chr(10))} lines, not "
                           f"{end - start}; delete it and run again with --resume.")
        text.append(shard)
    write_atomically(output, "".join(text))
    shutil.rmtree(parts, ignore_errors=True)
    return True


def _shard_path(parts: Path, index: int) -> Path:
    return parts / f"shard-{index:07d}.txt"


def _wait_for(paths: list[Path]) -> None:
    """Until every path exists (other ranks' shards); torchrun ends this rank if one dies."""
    missing = [p for p in paths if not p.is_file()]
    while missing:
        time.sleep(_POLL_S)
        missing = [p for p in missing if not p.is_file()]


def truncation_counter(category: type[Warning]) -> tuple[Callable[[Callable], Callable], list]:
    """Wrap a translate function so the truncation warnings of every shard are collected in the
    returned list (the CLI prints one note at the end, as for a one-process run)."""
    caught: list = []

    def wrap(translate: Callable[[list[str]], list[str]]) -> Callable[[list[str]], list[str]]:
        def counted(chunk: list[str]) -> list[str]:
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always", category)
                out = translate(chunk)
            caught.extend(seen)
            return out

        return counted

    return wrap, caught


def fingerprint(model_dir: Path | None) -> list:
    """What identifies a model's files for resuming: each file's name, size and modification
    time (a retrained model in the same directory does not reuse the old one's shards)."""
    if model_dir is None:
        return []
    model_dir = Path(model_dir).resolve()
    return [str(model_dir)] + [[p.name, p.stat().st_size, p.stat().st_mtime_ns]
                               for p in sorted(model_dir.iterdir()) if p.is_file()]
