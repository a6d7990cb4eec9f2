"""The site build's sheet cache: one folder per content hash of (manifest, sheet code), see
`figures.build_figure`. An entry is whole once its figure.json exists (written last).

Every build touches the entries it uses, so after a build the cache can keep this build's entries,
plus the most recently used others up to a spare budget (switching back to an earlier runs folder
stays cheap), and drop the rest: without pruning it would grow by one entry per run ever built.
"""

from __future__ import annotations

import shutil
from pathlib import Path

SPARE_BYTES = 64 * 2**20  # unused entries kept, most recently used first
CLOCK_SLACK_S = 1.0  # file times come from a coarser clock than time.time()


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def prune(cache: Path, build_started: float, spare_bytes: int = SPARE_BYTES) -> dict:
    """Remove entries the build that began at `build_started` did not use, beyond `spare_bytes`."""
    if not cache.is_dir():
        return {"kept": 0, "removed": 0}
    used_since = build_started - CLOCK_SLACK_S
    unused, kept, removed = [], 0, 0
    for entry in cache.iterdir():
        if not entry.is_dir():
            continue
        mtime = entry.stat().st_mtime
        if mtime >= used_since:
            kept += 1
        elif not (entry / "figure.json").is_file():  # left half-written by a killed build
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
        else:
            unused.append((mtime, entry))
    spare = 0
    for _, entry in sorted(unused, reverse=True):  # most recently used first
        size = _size(entry)
        if spare + size <= spare_bytes:
            spare += size
            kept += 1
        else:
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return {"kept": kept, "removed": removed}
