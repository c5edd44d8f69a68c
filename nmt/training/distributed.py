"""Data-parallel training through torchrun: nothing to configure beyond what torchrun sets.

``torchrun --nproc_per_node N -m nmt train ...`` starts N processes with RANK/WORLD_SIZE in the
environment; each joins a process group (gloo on CPU, NCCL on GPU, multi-node through
torchrun's rendezvous), trains on its own share of every batch group, and only rank 0 writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def agree(self, reason: str | None, reasons: tuple[str, ...]) -> str | None:
        """The reason to stop that every rank adopts: this rank's or another's, the later in
        ``reasons`` winning when they differ; None when no rank has one. A collective: every
        rank must call it at the same point, with or without a reason of its own (a rank that
        skipped it because it already knew it would stop would leave the others waiting)."""
        if not self.distributed:
            return reason
        code = torch.tensor([reasons.index(reason) + 1 if reason is not None else 0],
                            device=self.device)
        dist.all_reduce(code, op=dist.ReduceOp.MAX)
        return reasons[int(code.item()) - 1] if code.item() else None

    def sum(self, *values: float) -> list[float]:
        """Each value summed over the ranks (a collective, like :meth:`agree`)."""
        if not self.distributed:
            return list(values)
        totals = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(totals)
        return totals.tolist()

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()


def init(device: torch.device) -> World:
    """Join the process group when torchrun started us; a single process otherwise."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return World(rank=dist.get_rank(), size=dist.get_world_size(),
                 local_rank=int(os.environ.get("LOCAL_RANK", "0")), device=str(device))


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
