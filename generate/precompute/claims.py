"""Per-unit claims in the runs folder: many processes, even on many machines, share one grid.

Before computing a unit a process creates RUN/claims/UNIT.claim (a hard link of a file naming
it: host, pid, rank), which only one process can do, also on NFS and other shared file systems. While it
holds claims, a heartbeat thread touches them every HEARTBEAT seconds. A claim is released when the
unit's marker is on disk, and the run's manifest is itself a claim ("manifest"), so no two
processes ever write the same file.

A dead process must not hold a unit forever. Its claim is *stale*, and may be taken over, when
    * it names this host and a process id that no longer runs (seen at once), or
    * its modification time has not changed for STALE seconds of the observer's own clock (a
      machine that died or lost the shared folder; no clocks are compared across machines).
Taking over renames the stale file away first: of two processes that both found it stale, one
rename succeeds and the other finds the file gone and tries again.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

HEARTBEAT = 5.0  # seconds between touches of the claims a process holds
STALE = 60.0  # seconds without a touch after which a claim from another machine is taken over


def claim_file(run_dir: Path, name: str) -> Path:
    return run_dir / "claims" / f"{name}.claim"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class Claims:
    def __init__(self, rank: int = 0, stale: float = STALE, heartbeat: float = HEARTBEAT):
        self.owner = {"host": socket.gethostname(), "pid": os.getpid(), "rank": rank}
        self.stale, self.heartbeat = stale, heartbeat
        self.held: set[Path] = set()
        self.seen: dict[Path, tuple[int, float]] = {}  # claim -> (mtime_ns, when we first saw it)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="claims-heartbeat", daemon=True)
        self.thread.start()

    def take(self, path: Path) -> bool:
        """Claim `path` for this process: True if it is ours now (fresh or taken over from a dead one)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        owner = json.dumps(dict(self.owner, since=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())))
        for _ in range(2):
            try:
                self._create(path, owner)
            except FileNotFoundError:
                # the claims folder went between mkdir and here: only a finished run's tidy removes
                # it (execute.tidy, after the manifest), so there is nothing left to claim
                return False
            except FileExistsError:
                if not self._stale(path):
                    return False
                try:  # only one of several observers gets to move it away
                    os.replace(path, path.with_name(f"{path.name}.stale-{os.getpid()}"))
                except FileNotFoundError:
                    pass
                path.with_name(f"{path.name}.stale-{os.getpid()}").unlink(missing_ok=True)
                continue
            with self.lock:
                self.held.add(path)
            return True
        return False

    @staticmethod
    def _create(path: Path, owner: str) -> None:
        """Create `path` holding `owner`, or raise FileExistsError: a hard link of a finished temp
        file is exclusive like O_EXCL and never shows a claim without its holder (a kill mid-write)."""
        temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temp.write_text(owner)
        try:
            os.link(temp, path)
        finally:
            temp.unlink(missing_ok=True)

    def release(self, path: Path) -> None:
        with self.lock:
            self.held.discard(path)
        path.unlink(missing_ok=True)

    def release_all(self) -> None:
        with self.lock:
            held, self.held = self.held, set()
        for path in held:
            path.unlink(missing_ok=True)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.release_all()

    def _stale(self, path: Path) -> bool:
        try:
            mtime = path.stat().st_mtime_ns
            holder = json.loads(path.read_text() or "{}")
        except FileNotFoundError:
            return True  # released meanwhile: try again
        except (OSError, ValueError):
            holder = {}  # being written, or torn by a crash: judged by its age alone
        if holder.get("host") == self.owner["host"] and isinstance(holder.get("pid"), int):
            if holder["pid"] == os.getpid():
                return False
            if not _alive(holder["pid"]):
                return True
        first_mtime, since = self.seen.get(path, (None, 0.0))
        if first_mtime != mtime:
            self.seen[path] = (mtime, time.monotonic())
            return False
        return time.monotonic() - since > self.stale

    def _beat(self) -> None:
        while not self.stop.wait(self.heartbeat):
            with self.lock:
                held = list(self.held)
            for path in held:
                try:
                    os.utime(path)
                except FileNotFoundError:
                    pass
