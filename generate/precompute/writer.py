"""Frame writing off the model's thread: PNG encoding and atomic writes on a small thread pool.

Why a pool and a budget: at 256 px a PNG takes about 12 ms to encode, so on a GPU one writer
thread would fall behind the model and its queue would grow until the whole grid sat in memory.
Encoding releases the GIL, so a few threads keep up; and `emit` blocks while more than
`budget_bytes` of frames wait, so memory stays bounded whatever the grid size (back-pressure
instead of an unbounded queue).

Records keep the order in which frames were emitted, not the order in which threads finish, so the
manifest is byte-stable. A unit's marker is written only after every frame of the unit is on disk.
"""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np

from ..atomic import write_bytes_atomic, write_json_atomic
from ..toolkit.contract import Panel
from ..toolkit.png import encode_png

BUDGET_BYTES = 256 * 2**20  # raw frames waiting to be encoded, at most


def default_workers() -> int:
    return min(4, os.cpu_count() or 1)


class FrameWriter:
    def __init__(
        self,
        run_dir: Path | None,
        round_metric: Callable[[float], float | None],
        workers: int | None = None,
        budget_bytes: int = BUDGET_BYTES,
    ):
        """`run_dir`: where units write unless `unit()` names another run (one pool serves them all)."""
        self.run_dir, self.round_metric = run_dir, round_metric
        self.pool = ThreadPoolExecutor(max_workers=workers or default_workers(), thread_name_prefix="frame-writer")
        self.budget, self.waiting = budget_bytes, 0
        self.room = threading.Condition()
        self.pending: list[Future] = []
        self.peak_waiting = 0  # the most raw bytes queued at once (benchmarks report it)

    def unit(self, run_dir: Path | None = None) -> "UnitFrames":
        return UnitFrames(self, run_dir or self.run_dir)

    def submit(self, work: Callable[[], None], size: int) -> Future:
        with self.room:
            # Block the model's thread while the queue is full; one frame always fits.
            self.room.wait_for(lambda: self.waiting == 0 or self.waiting + size <= self.budget)
            self.waiting += size
            self.peak_waiting = max(self.peak_waiting, self.waiting)
        future = self.pool.submit(work)
        future.add_done_callback(lambda _: self._release(size))
        self.pending.append(future)
        return future

    def _release(self, size: int) -> None:
        with self.room:
            self.waiting -= size
            self.room.notify_all()

    def raise_first_error(self) -> None:
        """Stop at the first failed write instead of computing on; forget the writes that are done."""
        for future in self.pending:
            if future.done() and future.exception() is not None:
                future.result()
        self.pending = [future for future in self.pending if not future.done()]

    def drain(self) -> None:
        """Wait until everything submitted so far is on disk (markers included); re-raise a failure."""
        for future in self.pending:
            future.result()
        self.pending = []

    def close(self) -> None:
        """Wait for every write; re-raise the first failure."""
        try:
            for future in self.pending:
                future.result()
        finally:
            self.pool.shutdown(wait=True)


class UnitFrames:
    """The frames of one unit: `emit` queues one, `finish` writes the unit's marker after them."""

    def __init__(self, writer: FrameWriter, run_dir: Path):
        self.writer, self.run_dir = writer, run_dir
        self.records: list[dict | None] = []
        self.writes: list[Future] = []

    def emit(self, panel: Panel, image: np.ndarray | bytes, metrics: dict, **coords) -> None:
        """Queue one frame of the experiment's declared `panel` at `coords` (its file name and manifest
        coords both come from the declaration): an image (uint8 array, PNG-encoded here), or the
        finished bytes of a panel whose suffix is not png."""
        if (panel.suffix == "png") != isinstance(image, np.ndarray):
            raise TypeError(
                f"panel {panel.name!r} (.{panel.suffix}) takes "
                f"{'a uint8 image array' if panel.suffix == 'png' else 'bytes'}"
            )
        relative, coords = panel.path_of(**coords), panel.coords_of(**coords)
        slot = len(self.records)
        self.records.append(None)
        run_dir, round_metric = self.run_dir, self.writer.round_metric

        def write() -> None:
            data = encode_png(image) if isinstance(image, np.ndarray) else bytes(image)
            write_bytes_atomic(run_dir / relative, data)
            self.records[slot] = {
                "file": relative,
                "sha256": hashlib.sha256(data).hexdigest(),
                "coords": coords,
                "metrics": {k: round_metric(v) for k, v in metrics.items()},
            }

        self.writes.append(self.writer.submit(write, len(image) if isinstance(image, bytes) else image.nbytes))

    def finish(
        self, marker: Path, key: str, work: dict | None = None, on_written: Callable[[], None] = lambda: None
    ) -> None:
        """Write the unit's marker (its frame records, and `work`: who computed it and at what cost)
        once all its frames are on disk; then call `on_written` (e.g. release the unit's claim)."""

        def write_marker() -> None:
            # Submitted after the unit's frames, so every one of them has been picked up by a
            # thread; .result() waits for them and re-raises a failed write (then no marker).
            for write in self.writes:
                write.result()
            write_json_atomic(marker, {"unit": key, "frames": self.records, **({"work": work} if work else {})})
            on_written()

        self.writer.submit(write_marker, 0)
