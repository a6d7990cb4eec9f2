"""`precompute --processes N|auto`: the same command, started as N processes on this machine.

A convenience over typing `torchrun --standalone --nproc_per_node N -m generate precompute ...`:
this module calls torchrun's own launcher (`torch.distributed.run`) with the command's arguments,
so the processes are exactly the ones world.py joins, claim units through the runs folder
(claims.py) and share one progress bar. The bytes do not depend on the number of processes; on a
CPU they depend on the threads per process, which torchrun sets to one (plan.py records it).

Why processes on a CPU: the shipped UNets are small, and a 2-core machine runs two one-thread
processes faster than one two-thread process (benchmarks/processes.py), most of all on the
sequential chains (a 1000-step DDIM run is 1000 calls at batch 4).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

CPU_PROCESSES_MAX = 4  # each process holds a copy of the model and its batches; more gain little here
ERRORS_ENV = "NTI_PROCESS_ERRORS"  # folder where launched processes leave their error messages


def parse_processes(value: str) -> int | str:
    """argparse type of --processes: a whole number from 1, or `auto`."""
    if value == "auto":
        return value
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a whole number from 1, or auto")
    return count


def auto_processes(device: str) -> int:
    """One process per GPU when the run goes to CUDA; on a CPU one per core, at most CPU_PROCESSES_MAX."""
    import torch

    if device in ("auto", "cuda") and torch.cuda.is_available():
        return torch.cuda.device_count()
    if device.startswith("cuda"):
        return 1  # one named GPU (cuda:N): one process on it
    # the cores this process may run on (a container's CPU set), not the host's
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, CPU_PROCESSES_MAX))


def launched() -> bool:
    """True inside a process that a launcher (torchrun, accelerate launch, this module) started."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def launch(count: int, argv: list[str]) -> int:
    """Run `python -m generate <argv>` as `count` processes under torchrun; returns the exit code.

    Only the main process writes to the terminal (its progress bar); the others' stderr goes to log
    files. Every process validates the same config and models, so each writes its error message to
    a file instead of the terminal (cli.main), and they are told here once each, in rank order."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    # torchrun would set one thread per process itself, with a warning on every launch.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # The elastic agent logs every start and stop, and a failed process as an ERROR line naming its
    # pid: the processes print their own errors, and this function sums them up.
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    logs = Path(tempfile.mkdtemp(prefix="nti-processes-"))
    os.environ[ERRORS_ENV] = str(logs)  # the processes write their error messages there (cli.main)
    others = [f"{rank}:2" for rank in range(1, count)]  # local rank: stderr to a file
    launcher = get_args_parser().parse_args(
        ["--standalone", "--nproc-per-node", str(count), "--log-dir", str(logs), "--redirects", ",".join(others)]
        + ["--module", "generate", *argv]
    )
    try:
        run(launcher)
    except ChildFailedError as failed:
        # A process that fails first stops the others (they show as killed, a negative exit code).
        codes = {rank: f.exitcode for rank, f in failed.failures.items()}
        _tell(logs, sorted(rank for rank, code in codes.items() if code > 0))
        shown = sorted(set(codes.values()), reverse=True)
        print(f"error: the {count} precompute processes stopped (exit codes {shown})", file=sys.stderr)
        return shown[0] if shown[0] > 0 else 1
    finally:
        os.environ.pop(ERRORS_ENV, None)
        shutil.rmtree(logs, ignore_errors=True)
    return 0


def report_error(message: str) -> bool:
    """In a launched process: leave the error message for the launcher (which tells it once) and
    return True; elsewhere return False (the caller prints it)."""
    folder = os.environ.get(ERRORS_ENV)
    if not folder or not launched():
        return False
    (Path(folder) / f"error-{os.environ['RANK']}.txt").write_text(message + "\n")
    return True


def _tell(logs: Path, failed: list[int]) -> None:
    """Each failed process's error message, once per distinct message; a process that left none
    (a crash, not a bad input) shows the end of its stderr."""
    told: set[str] = set()
    for rank in failed:
        errors = logs / f"error-{rank}.txt"
        if errors.is_file():
            message = errors.read_text()
            if message not in told:
                sys.stderr.write(message)
                told.add(message)
            continue
        for log in sorted(logs.rglob(f"attempt_*/{rank}/stderr.log")):
            sys.stderr.write(log.read_text()[-4000:])
