"""Run experiment grids into frame sets: units, resume, atomic writes, one writer per runs folder.

An experiment's plan is a list of *units*: groups of grid cells that go through the reverse process
together (one batch that shares every timestep). A unit is the grain of resumption: when its last
frame is on disk, a marker file with its frame records is written atomically. A restarted run skips
units that have a marker and recomputes the rest with the same batch composition, so the bytes equal
those of an uninterrupted run. Frames are PNG-encoded and written by a small thread pool while the
model keeps computing (`writer.py`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from .atomic import dumps_json, remove_stale_temps, write_bytes_atomic, write_json_atomic
from .config import Config, check_against_model
from .errors import UsageError
from .frames import PNG_SETTINGS, decode_png
from .loading import LoadedModel
from .manifest import SCHEMA, frames_digest
from .memory import call_batch_for
from .writer import FrameWriter

Emit = Callable[[str, np.ndarray, dict, dict], None]


@dataclass
class Unit:
    key: str  # stable name of the cells it holds, e.g. "seeds-0-1"
    images: int  # images denoised (UNet call x batch)
    compute: Callable[["Context", Emit], None]
    content: dict = field(default_factory=dict)  # everything of the config that shapes its frames
    hash: str = ""  # set by `prepare`: content + model + scheduler + device + batch composition
    reads_frames: bool = False  # computed from frames of earlier units (ctx.read_frame), not by the model


@dataclass
class Context:
    model: LoadedModel
    max_batch: int
    on_calls: Callable[[int], None] = lambda images: None  # progress, in images denoised
    calls: int = 0
    images: int = 0
    call_batch: int = 0  # images per UNet call: max_batch, or fewer where memory is short (memory.py)
    batch_sizes: Counter = field(default_factory=Counter)  # images per call -> calls, for benchmarks
    seconds_by_part: Counter = field(default_factory=Counter)  # an experiment's own timed parts -> seconds
    run_dir: Path | None = None  # the run being computed (set by `execute`), for `read_frame`

    def read_frame(self, name: str) -> np.ndarray:
        """A frame an earlier unit of this run emitted (computed now or reused), as (H, W, C) uint8."""
        return decode_png((self.run_dir / "frames" / f"{name}.png").read_bytes()).copy()

    def note_seconds(self, part: str, seconds: float) -> None:
        """Time of a named part of a unit (e.g. one step count), summed over units; goes to run.json."""
        self.seconds_by_part[part] += seconds

    @torch.no_grad()
    def denoise(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The UNet on a batch, in calls of at most `call_batch`; float32 in and out, model dtype inside."""
        model, outputs, start = self.model, [], 0
        if not self.call_batch:
            self.call_batch = call_batch_for(model.unet, tuple(x.shape[1:]), model.device, model.dtype, self.max_batch)
        while start < x.shape[0]:
            size = min(self.call_batch, x.shape[0] - start)
            chunk = x[start:start + size].to(model.device, model.dtype, memory_format=torch.channels_last)
            try:
                outputs.append(model.unet(chunk, t[start:start + size].to(model.device)).sample.float())
            except torch.OutOfMemoryError:
                if size == 1:
                    raise UsageError(f"out of memory on {model.device} even at one image per UNet call; "
                                     "use a smaller model, --dtype float16, or another device") from None
                del chunk
                self.call_batch = size // 2  # and retry this chunk; the frames stay the same cells
                if model.device.type == "cuda":
                    torch.cuda.empty_cache()
                continue
            start += size
            self.calls += 1
            self.images += size
            self.batch_sizes[size] += 1
            self.on_calls(size)
        return torch.cat(outputs)


def round_metric(value: float) -> float | None:
    """Six significant digits: stable JSON across runs, ample for charts."""
    value = float(value)
    if not np.isfinite(value):
        return None
    return float(f"{value:.6g}")


def _hash(value: Any) -> str:
    return hashlib.sha256(dumps_json(value).encode()).hexdigest()


def _computation(config: Config, model: LoadedModel) -> dict:
    """What, besides the grid itself, decides the bytes of a frame."""
    return {"schema": SCHEMA, "model": model.identity, "scheduler_base": model.scheduler_config,
            "device": model.device.type, "dtype": str(model.dtype).removeprefix("torch."),
            "max_batch": config.run.max_batch, "compile": config.run.compile, "png": PNG_SETTINGS,
            "memory_format": "channels_last"}


def run_key(experiment: str, config: Config, model: LoadedModel, revision: int = 0) -> str:
    """`revision`: an experiment module's REVISION, raised when its code makes other frame sets from
    the same config (0 leaves the keys of earlier runs as they were). Unit hashes do not take it: a
    unit whose frames change says so in its own content, and unchanged units are reused."""
    return _hash(dict(_computation(config, model), experiment=experiment,
                      config=asdict(config.experiment(experiment)), **({"revision": revision} if revision else {})))[:12]


def unit_hash(experiment: str, unit: Unit, config: Config, model: LoadedModel) -> str:
    return _hash(dict(_computation(config, model), experiment=experiment, unit=unit.key, content=unit.content))


class RunsLock:
    """One precompute per runs folder: an exclusive flock on RUNS/.lock, released on exit or kill."""

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


def environment(model: LoadedModel) -> dict:
    import diffusers

    return {"torch": torch.__version__, "diffusers": diffusers.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "device": model.device.type,
            "dtype": str(model.dtype).removeprefix("torch.")}


@dataclass
class ExperimentRun:
    name: str
    run_dir: Path
    units: list[Unit]
    describe: dict
    scheduler: dict
    key: str
    cached: bool = False
    records: list[dict] = field(default_factory=list)


def prepare(experiment: str, module: Any, config: Config, model: LoadedModel, runs: Path) -> ExperimentRun:
    check_against_model(config, experiment, model.sample_size,
                        int(model.scheduler_config.get("num_train_timesteps", 1000)))
    revision = getattr(module, "REVISION", 0)
    key = run_key(experiment, config, model, revision)
    run_dir = runs / model.slug / experiment / key
    root = runs.resolve()
    if runs.exists() and root not in run_dir.resolve().parents:
        raise UsageError(f"{run_dir}: resolves outside the runs folder {root} (a symlink?); "
                         "the precompute writes only inside --runs")
    section = config.experiment(experiment)
    plan = module.plan(section, model, config.run.max_batch, config.source)
    for unit in plan.units:
        unit.hash = unit_hash(experiment, unit, config, model)
    scheduler = model.scheduler(section.scheduler)
    return ExperimentRun(name=experiment, run_dir=run_dir, units=plan.units, describe=plan.describe,
                         scheduler={"class": type(scheduler).__name__,
                                    "config": {k: v for k, v in dict(scheduler.config).items()
                                               if not k.startswith("_")}},
                         key=key, cached=(run_dir / "manifest.json").is_file())


def execute(run: ExperimentRun, config: Config, model: LoadedModel, context: Context,
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
            marker = markers / f"{unit.key}.json"
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
        unit_frames = json.loads((markers / f"{unit.key}.json").read_text())["frames"]
        units.append({"key": unit.key, "hash": unit.hash, "frames": len(unit_frames)})
        frames.extend(unit_frames)
    manifest = {
        "schema": SCHEMA, "experiment": run.name, "run_key": run.key,
        "config": asdict(config.experiment(run.name)), "model": dict(model.identity, label=model.label,
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
