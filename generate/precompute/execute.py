"""Execute a planned experiment: compute the missing units, reuse finished ones, write the manifest.

A unit is the grain of resumption: when its last frame is on disk, a marker file with its frame
records is written atomically. A restarted run skips units that have a marker and recomputes the
rest with the same batch composition, so the bytes equal those of an uninterrupted run. Frames are
PNG-encoded and written by a small thread pool while the model keeps computing (`writer.py`).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..atomic import remove_stale_temps, write_bytes_atomic, write_json_atomic
from ..manifest import SCHEMA, frames_digest
from .config import Config
from .context import Context
from .plan import ExperimentRun, Unit, round_metric
from .writer import FrameWriter


def environment(model) -> dict:
    import diffusers

    return {"torch": torch.__version__, "diffusers": diffusers.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "device": model.device.type,
            "dtype": str(model.dtype).removeprefix("torch.")}


def execute(run: ExperimentRun, config: Config, model, context: Context,
            on_unit: Callable[[Unit], None] = lambda u: None) -> dict:
    """Compute the missing units of one experiment, then write its manifest. Returns timings."""
    started = time.time()
    if run.run_dir.is_dir():
        remove_stale_temps(run.run_dir)  # left by a killed run; we hold the runs lock
    markers = run.run_dir / "units"
    writer = FrameWriter(run.run_dir, round_metric)
    calls_before, images_before, sizes_before = context.calls, context.images, Counter(context.batch_sizes)
    context.seconds_by_part.clear()
    context.run_dir = run.run_dir
    try:
        for unit in run.units:
            marker = run.marker(unit)
            if marker.is_file() or _reuse(unit, run, marker):
                on_unit(unit)
                continue
            if unit.reads_frames:
                writer.drain()  # the earlier units' frames are on disk before this one reads them
            frames_of_unit = writer.unit()
            unit.compute(context, frames_of_unit.emit)
            frames_of_unit.finish(marker, unit.key)
            writer.raise_first_error()
            on_unit(unit)
    finally:
        writer.close()
    frames, units = [], []
    for unit in run.units:
        unit_frames = json.loads(run.marker(unit).read_text())["frames"]
        units.append({"key": unit.key, "hash": unit.hash, "frames": len(unit_frames)})
        frames.extend(unit_frames)
    manifest = {
        "schema": SCHEMA, "experiment": run.name, "run_key": run.key,
        "config": asdict(run.section), "model": dict(model.identity, label=model.label,
                                                                        slug=model.slug),
        "scheduler": run.scheduler, "environment": environment(model), "axes": run.describe,
        "units": units, "frames": frames, "frames_sha256": frames_digest(frames),
    }
    write_json_atomic(run.run_dir / "manifest.json", manifest)
    timings = {"experiment": run.name, "seconds": round(time.time() - started, 3),
               "model_calls": context.calls - calls_before, "images": context.images - images_before,
               "images_per_call": {str(k): v for k, v in sorted((context.batch_sizes - sizes_before).items())},
               "call_batch": context.call_batch,
               "seconds_by_part": {k: round(v, 3) for k, v in sorted(context.seconds_by_part.items())},
               "frames_queued_peak_mb": round(writer.peak_waiting / 2**20, 1),
               "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "finished_ns": time.time_ns(), "command": [Path(sys.executable).name, "-m", "generate", *sys.argv[1:]]}
    write_json_atomic(run.run_dir / "run.json", timings)
    for marker in markers.glob("*.json"):
        marker.unlink()
    markers.rmdir() if markers.is_dir() else None
    return timings


def _reuse(unit: Unit, run: ExperimentRun, marker: Path) -> bool:
    """Take a unit's frames from a finished sibling run that computed the very same unit.

    Same unit hash means the same cells, model, scheduler, device and batch composition, so the
    frames would come out byte-identical; hard links make the copy free. Returns False if no
    sibling has it (or its files are gone), and the unit is computed.
    """
    for manifest_path in sorted(run.run_dir.parent.glob("*/manifest.json")):
        if manifest_path.parent == run.run_dir:
            continue
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        start = 0
        for entry in manifest.get("units", []):
            if entry.get("hash") == unit.hash:
                records = manifest["frames"][start:start + entry["frames"]]
                sources = [manifest_path.parent / r["file"] for r in records]
                if not all(p.is_file() for p in sources):
                    break
                for record, source in zip(records, sources):
                    _link_atomic(source, run.run_dir / record["file"])
                write_json_atomic(marker, {"unit": unit.key, "frames": records})
                return True
            start += entry.get("frames", 0)
    return False


def _link_atomic(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.link.tmp")
    temp.unlink(missing_ok=True)
    try:
        os.link(source, temp)
    except OSError:  # another file system: copy the bytes instead
        write_bytes_atomic(target, source.read_bytes())
        return
    os.replace(temp, target)
