"""The processes of one precompute, as the launcher made them: torchrun, `accelerate launch`, or none.

Launching, rendezvous and the process group belong to the engine. Both torchrun and
`accelerate launch` start each process with RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
MASTER_PORT in its environment; `join()` reads them and joins the engine's process group
(`init_process_group`, env:// rendezvous). A plain `python -m generate precompute` is a world of
one and never touches torch.distributed.

What the processes share is small and goes through the process group's own key-value store or
its collectives: the images done so far (one progress bar on the main process) and a summary per
process at the end. The units themselves are shared through the runs folder (claims.py), so that
processes of different launches, even on different machines, cooperate on one runs folder too.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from ..errors import UsageError

# Processes wait for each other only after the whole grid is done, but a slow machine may still
# be writing its last frames: be generous (the gloo default is 30 minutes).
TIMEOUT = timedelta(hours=2)


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise UsageError(
            f"environment variable {name}={value!r}: expected an integer (set by torchrun or accelerate launch)"
        ) from None


@dataclass(frozen=True)
class World:
    rank: int = 0  # this process, 0 .. size-1 over all machines
    size: int = 1  # processes over all machines
    local_rank: int = 0  # this process on its machine: picks its GPU
    host: str = socket.gethostname()

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def grouped(self) -> bool:
        return self.size > 1

    def device(self, requested: str) -> str:
        """Each process on its own GPU: `auto` / `cuda` become cuda:LOCAL_RANK in a group of processes."""
        if not self.grouped or requested not in ("auto", "cuda") or not torch.cuda.is_available():
            return requested
        return f"cuda:{self.local_rank % torch.cuda.device_count()}"

    def add(self, counter: str, amount: int) -> int:
        """Add to a counter shared by all processes (the group's store); returns its new value.
        In a world of one there is nothing to share: returns `amount`."""
        if not self.grouped:
            return amount
        return int(_store().add(f"n2i/{counter}", amount))

    def gather(self, record: dict) -> list[dict]:
        """Every process's record, in rank order, on every process (a collective: all must call it)."""
        if not self.grouped:
            return [record]
        records: list = [None] * self.size
        dist.all_gather_object(records, record)
        return records


def join() -> World:
    """The world this process was launched into; joins the engine's process group if there is one."""
    size = _int_env("WORLD_SIZE", 1)
    world = World(rank=_int_env("RANK", 0), size=size, local_rank=_int_env("LOCAL_RANK", 0))
    if not 0 <= world.rank < size:
        raise UsageError(f"environment: RANK={world.rank} is outside 0..WORLD_SIZE-1 ({size - 1})")
    if world.grouped and not dist.is_initialized():
        # gloo carries only this small bookkeeping (never tensors of the grid), so it serves GPUs too.
        try:
            dist.init_process_group(backend="gloo", timeout=TIMEOUT)
        except RuntimeError as error:  # a peer gone while the group formed: its own message says why
            raise UsageError(
                f"process {world.rank}: the precompute processes could not form their group ({str(error)[:120]}); "
                "another process stopped first"
            ) from None
    return world


def leave(world: World, wait: bool = True) -> None:
    """Leave the process group; `wait` for the others first (not after an error: they may be gone)."""
    if world.grouped and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()


def _store():
    # The store the engine's rendezvous created (TCPStore on the master): the same one torch uses
    # for its own bookkeeping, so no address or port of ours.
    from torch.distributed import distributed_c10d

    return distributed_c10d._get_default_store()
