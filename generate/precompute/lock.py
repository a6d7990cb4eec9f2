"""One precompute per runs folder: an exclusive flock on RUNS/.lock, released on exit or kill."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ..errors import UsageError


class RunsLock:
    def __init__(self, runs: Path):
        self.path = runs / ".lock"
        self.handle = None

    def __enter__(self) -> "RunsLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "a+")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "unknown"
            self.handle.close()
            raise UsageError(f"{self.path}: another precompute (pid {holder}) is writing to this runs "
                             "folder; wait for it to finish or choose another --runs") from None
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(str(os.getpid()))
        self.handle.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()
