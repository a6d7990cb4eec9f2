"""The trajectory store: sampling runs that several experiments read, computed once per runs folder.

    RUNS/<model>/.trajectories/<key>-<hash>.npz    the arrays of one trajectory (numpy's npz)

`hash` covers what decides the arrays: the trajectory's content (sampler, spacing, steps, seeds)
and the computation (model, scheduler, device, dtype, batch limit, threads), like a unit's hash. The
first unit that needs a trajectory claims it (claims.py: one process computes it, the others wait
and read it), computes it with its own denoiser (its model calls count for that unit) and writes the
file atomically; every later reader, in this run or any other, loads it. An interrupted precompute
finds it on disk and does not compute it again.
"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..atomic import remove_temps_of, write_bytes_atomic
from ..toolkit.units import Trajectory
from .claims import Claims

POLL = 0.2  # seconds between looks while another process computes a trajectory


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """numpy's npz (np.load reads it), with fixed member times: the same arrays, the same bytes (np.savez
    stamps each member with the clock, and a resumed precompute must write what an unbroken one does)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.save(member, np.asarray(array), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), member.getvalue())
    return buffer.getvalue()


class TrajectoryStore:
    def __init__(self, folder: Path, hash_of: Callable[[Trajectory], str], claims: Claims | None = None):
        self.folder, self.hash_of, self.claims = folder, hash_of, claims

    def path(self, trajectory: Trajectory) -> Path:
        return self.folder / f"{trajectory.key}-{self.hash_of(trajectory)[:16]}.npz"

    def has(self, trajectory: Trajectory) -> bool:
        return self.path(trajectory).is_file()

    def get(self, trajectory: Trajectory, ctx: Any) -> dict[str, np.ndarray]:
        """The trajectory's arrays: from the store, or computed now (claimed: one process computes it)."""
        path = self.path(trajectory)
        while True:
            if path.is_file():
                claim = path.with_suffix(".claim")
                if self.claims is not None and claim.exists() and self.claims.take(claim):
                    self.claims.release(claim)  # a holder killed after writing the file left its claim
                with np.load(path) as stored:
                    return {name: stored[name] for name in stored.files}
            self.folder.mkdir(parents=True, exist_ok=True)
            claim = path.with_suffix(".claim")
            if self.claims is None or self.claims.take(claim):
                try:
                    if path.is_file():
                        continue
                    # Only the claim's holder writes this file: a temp of it now is a killed writer's
                    # (a run's tidy does not reach the store, which outlives every run).
                    remove_temps_of(path)
                    arrays = trajectory.compute(ctx)
                    write_bytes_atomic(path, npz_bytes(arrays))
                    return arrays
                finally:
                    if self.claims is not None:
                        self.claims.release(claim)
            time.sleep(POLL)
