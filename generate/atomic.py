"""Atomic file writes: write to a temporary file in the same folder, then rename over the target.

A reader (the site build, a resumed precompute) therefore sees either the old file or the whole new
one, never a half-written one, even if the writer is killed with SIGKILL mid-write. Without fsync
this holds against a killed process, which is what pre-empted cloud runs do; it does not claim
durability across a power loss.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any

TEMP_SUFFIX = ".tmp"
# Fault injection for tests/test_crash.py: SIGKILL this process half-way through its N-th write
# (only the process of rank NTI_CRASH_TEST_KILL_RANK, if set: one of several under torchrun).
_KILL_AT_WRITE = int(os.environ.get("NTI_CRASH_TEST_KILL_AT_WRITE", "0") or 0)
if os.environ.get("NTI_CRASH_TEST_KILL_RANK", "") not in ("", os.environ.get("RANK", "0")):
    _KILL_AT_WRITE = 0
_writes = 0
_count_lock = threading.Lock()  # frames are written by several threads


def _maybe_crash() -> None:
    global _writes
    with _count_lock:
        _writes += 1
        kill = _writes == _KILL_AT_WRITE
    if kill:
        os.kill(os.getpid(), signal.SIGKILL)


def remove_stale_temps(folder: Path) -> int:
    """Delete temp files a killed writer left behind (call only where no writer is at work: a finished
    run, or while holding the runs lock). Another process may tidy the same finished run at the same
    time (execute.tidy), removing its claims/ and units/ folders and files: what vanishes meanwhile is
    skipped (os.walk ignores a folder it can no longer list; Path.rglob raised FileNotFoundError there,
    which failed a torchrun launch under load)."""
    removed = 0
    for root, _, files in os.walk(folder):
        for name in files:
            if name.startswith(".") and name.endswith(TEMP_SUFFIX):
                try:
                    (Path(root) / name).unlink()
                except FileNotFoundError:
                    continue
                removed += 1
    return removed


def remove_temps_of(path: Path) -> None:
    """Delete the temp files a killed writer of `path` left (write_bytes_atomic names them
    `.<name>.<random>.tmp` beside it). Call only while no other writer can be at work on `path`
    (holding its claim), unlike remove_stale_temps, which clears a whole finished folder."""
    for stale in Path(path).parent.glob(f".{Path(path).name}.*{TEMP_SUFFIX}"):
        stale.unlink(missing_ok=True)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data[: len(data) // 2])
            if _KILL_AT_WRITE:
                stream.flush()
                _maybe_crash()
            stream.write(data[len(data) // 2 :])
        os.chmod(temp_name, 0o644)  # mkstemp makes 0600; frames and pages must be readable by a web server
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def dumps_json(value: Any) -> str:
    """The one JSON spelling used for every file we hash: sorted keys, 1-space indent, newline."""
    return json.dumps(value, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def write_json_atomic(path: Path, value: Any) -> None:
    write_bytes_atomic(path, dumps_json(value).encode("utf-8"))
