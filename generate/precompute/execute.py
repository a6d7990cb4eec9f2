"""Execute a planned experiment, one unit at a time: compute it or reuse it; then write the manifest.

A unit is the grain of resumption and of sharing between processes: when its last frame is on
disk, a marker file with its frame records is written atomically. A restarted run, or another
process, skips units that have a marker and computes the rest with the same batch composition (the
plan's, never the number of processes'), so the bytes equal those of one uninterrupted run. Frames
are PNG-encoded and written by a small thread pool while the model keeps computing (`writer.py`).
Which process computes which unit is decided in run.py, through claims (claims.py).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
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
from .claims import Claims, claim_file
from .context import Context
from .plan import ExperimentRun, Unit
from .writer import FrameWriter


def environment(model) -> dict:
    import diffusers

    return {
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": model.device.type,
        "dtype": str(model.dtype).removeprefix("torch."),
    }


def compute_unit(
    run: ExperimentRun, unit: Unit, context: Context, writer: FrameWriter, rank: int, on_written: Callable[[], None]
) -> dict:
    """Compute one unit (or link it from a finished sibling run); its marker follows its frames.

    Returns the unit's work record (who computed it, model calls, images, seconds), which also goes
    into the marker so that run.json can sum the work of every process that took part."""
    started_ns, started = time.time_ns(), time.perf_counter()
    work = {"rank": rank, "host": platform.node(), "started_ns": started_ns}
    if _reuse(unit, run, run.marker(unit), dict(work, reused=True)):
        on_written()
        return dict(work, reused=True, images=0, calls=0, seconds=0.0)
    calls, images, sizes = context.calls, context.images, Counter(context.batch_sizes)
    timed = len(context.call_seconds)
    parts = Counter(context.seconds_by_part)
    context.run_dir = run.run_dir
    frames_of_unit = writer.unit(run.run_dir)
    unit.compute(context, frames_of_unit.emit)
    work.update(
        calls=context.calls - calls,
        images=context.images - images,
        seconds=round(time.perf_counter() - started, 3),
        finished_ns=time.time_ns(),
        images_per_call={str(k): v for k, v in sorted((context.batch_sizes - sizes).items())},
        seconds_by_part={k: round(v, 3) for k, v in sorted((context.seconds_by_part - parts).items())},
        call_batch=context.call_batch,
        call_seconds=[round(seconds, 5) for seconds in context.call_seconds[timed:]],
    )
    frames_of_unit.finish(run.marker(unit), unit.key, work, on_written)
    writer.raise_first_error()
    return work


def finish_run(run: ExperimentRun, model, claims: Claims) -> bool:
    """Write the manifest and run.json once every unit's marker is on disk; True if this process did.

    Whichever process sees the last marker first writes it (the manifest is claimed like a unit);
    the markers and claims are then removed. Nothing in the manifest says how many processes, which
    hosts or how long: those go to run.json, so the manifest's bytes are the same however it was run."""
    manifest_path = run.run_dir / "manifest.json"
    if manifest_path.is_file() or run.missing_units():
        return False
    claim = claim_file(run.run_dir, "manifest")
    if not claims.take(claim):
        return False
    try:
        if manifest_path.is_file():
            return False
        frames, units, works = [], [], []
        for unit in run.units:
            marker = json.loads(run.marker(unit).read_text())
            units.append({"key": unit.key, "hash": unit.hash, "frames": len(marker["frames"])})
            frames.extend(marker["frames"])
            works.append(marker.get("work", {}))
        manifest = {
            "schema": SCHEMA,
            "experiment": run.name,
            "run_key": run.key,
            "config": asdict(run.section),
            "model": dict(model.identity, label=model.label, slug=model.slug),
            "scheduler": run.scheduler,
            "environment": environment(model),
            "axes": run.describe,
            "units": units,
            "frames": frames,
            "frames_sha256": frames_digest(frames),
        }
        # The manifest last: it is what says "finished" (a kill before it leaves the markers to redo it).
        write_json_atomic(
            run.run_dir / "run.json", run_record(run.name, works, [u.key for u in run.units], run.config_argument)
        )
        write_json_atomic(manifest_path, manifest)
    finally:
        claims.release(claim)
    tidy(run.run_dir)  # only now: a kill before the manifest leaves the markers to write it from
    return True


def tidy(run_dir: Path) -> None:
    """Remove what only an unfinished run needs (markers, claims, temp files) from a finished one:
    every unit is done, so a temp file left is a killed writer's. Also for runs found finished (a
    process killed between its manifest and this leaves them)."""
    remove_stale_temps(run_dir)
    for folder in (run_dir / "units", run_dir / "claims"):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            path.unlink(missing_ok=True)
        try:
            folder.rmdir()
        except OSError:
            pass  # a late claim of a process that has not seen the manifest yet (it removes its own)


def _per_call(seconds: list[float]) -> dict:
    if not seconds:
        return {}
    ordered = sorted(seconds)
    return {
        "median": round(statistics.median(ordered), 5),
        "p10": round(ordered[len(ordered) // 10], 5),
        "p90": round(ordered[(9 * len(ordered)) // 10], 5),
        "calls": len(ordered),
    }


def run_record(name: str, works: list[dict], keys: list[str], config: str = "") -> dict:
    """run.json: the work of every process on this run's units (`keys`), summed, and per process.
    `config`: what --config takes to plan the run again (the site's "How this was made" shows the
    command; `command` is this process's argv, which is not the precompute's when it was called from Python)."""
    computed = [w for w in works if w and not w.get("reused")]
    sizes, parts, processes = Counter(), Counter(), {}
    for work in computed:
        sizes.update({k: v for k, v in work.get("images_per_call", {}).items()})
        parts.update(work.get("seconds_by_part", {}))
        who = processes.setdefault(
            (work.get("host", "?"), work.get("rank", 0)),
            {
                "host": work.get("host", "?"),
                "rank": work.get("rank", 0),
                "units": 0,
                "model_calls": 0,
                "images": 0,
                "seconds": 0.0,
            },
        )
        who["units"] += 1
        who["model_calls"] += work.get("calls", 0)
        who["images"] += work.get("images", 0)
        who["seconds"] = round(who["seconds"] + work.get("seconds", 0.0), 3)
    started = [w["started_ns"] for w in computed if "started_ns" in w]
    finished = [w["finished_ns"] for w in computed if "finished_ns" in w]
    return {
        "experiment": name,
        "seconds": round(sum(w.get("seconds", 0.0) for w in computed), 3),  # process-seconds of compute
        "wall_seconds": round((max(finished) - min(started)) / 1e9, 3) if started and finished else 0.0,
        "model_calls": sum(w.get("calls", 0) for w in computed),
        "images": sum(w.get("images", 0) for w in computed),
        "images_per_call": {k: sizes[k] for k in sorted(sizes, key=int)},
        "call_batch": max((w.get("call_batch", 0) for w in computed), default=0),
        # what one model call costs: the median over every call of the run (a total from a loaded
        # machine says little; a median per call is what a page may quote), with the images per call
        "seconds_per_call": _per_call([s for w in computed for s in w.get("call_seconds", [])]),
        "seconds_by_part": {k: round(v, 3) for k, v in sorted(parts.items())},
        "units": {"computed": len(computed), "reused": sum(1 for w in works if w.get("reused")), "total": len(works)},
        "processes": sorted(processes.values(), key=lambda p: (p["host"], p["rank"])),
        # When each unit ran and where (seconds from the first start): how evenly processes shared it.
        "timeline": [
            {
                "unit": key,
                "host": w.get("host", "?"),
                "rank": w.get("rank", 0),
                "start": round((w["started_ns"] - min(started)) / 1e9, 3),
                "seconds": w.get("seconds", 0.0),
                "started_ns": w["started_ns"],
            }
            for key, w in zip(keys, works)
            if w and not w.get("reused") and "started_ns" in w
        ],
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "finished_ns": time.time_ns(),
        "command": [Path(sys.executable).name, "-m", "generate", *sys.argv[1:]],
        **({"config": config} if config else {}),
    }


def _reuse(unit: Unit, run: ExperimentRun, marker: Path, work: dict) -> bool:
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
                records = manifest["frames"][start : start + entry["frames"]]
                sources = [manifest_path.parent / r["file"] for r in records]
                if not all(p.is_file() for p in sources):
                    break
                for record, source in zip(records, sources):
                    _link_atomic(source, run.run_dir / record["file"])
                write_json_atomic(marker, {"unit": unit.key, "frames": records, "work": work})
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
