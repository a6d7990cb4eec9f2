"""Know the cost before paying it: model calls, images, frames, disk and time of a planned run.

Before the first model call the precompute times the model on this device (a short probe) and
prints, per experiment, what the units still to compute need. The time is a model of two numbers
fitted by the probe: a UNet call on b images takes `per_call + b * per_image` seconds (per_call holds
the fixed cost of a call and of the scheduler step around it); frames add their PNG encoding,
spread over the writer's threads. A run that would take hours on a CPU says so before it starts.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..core.denoise import Denoiser
from ..toolkit.png import encode_png
from .writer import BUDGET_BYTES, default_workers

LONG_SECONDS = 30 * 60  # beyond this a CPU run suggests a GPU, a smaller config or --only


@dataclass
class Probe:
    per_call: float  # seconds
    per_image: float  # seconds
    encode: float  # seconds to PNG-encode one noise frame (the worst case)
    frame_bytes: int  # PNG bytes of one noise frame
    call_batch: int  # images per UNet call on this device (memory.py)


@torch.no_grad()
def probe(model, max_batch: int) -> Probe:
    """Time the UNet at batch 1 and at a larger batch (after a warm-up call), and one frame's encoding."""
    denoiser = Denoiser(model=model, max_batch=max_batch, host_reserve=BUDGET_BYTES)
    shape = (model.channels, model.sample_size, model.sample_size)
    scheduler = model.scheduler("ddim")
    scheduler.set_timesteps(10)
    t0 = scheduler.timesteps[0]

    def timed(batch: int, repeats: int) -> float:
        x = torch.randn((batch, *shape), generator=torch.Generator().manual_seed(0)).to(model.device)
        t = torch.full((batch,), int(t0), dtype=torch.long, device=model.device)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            output = denoiser.denoise(x, t)
            scheduler.step(output, t0, x)
            if model.device.type == "cuda":
                torch.cuda.synchronize(model.device)
            times.append(time.perf_counter() - start)
        return statistics.median(times)  # the typical call, not the luckiest: the run has neighbours too

    timed(1, 1)  # warm-up: first calls allocate and pick kernels
    large = max(2, min(denoiser.call_batch or max_batch, 8))
    one, many = timed(1, 3), timed(large, 3)
    per_image = max(0.0, (many - one) / (large - 1))
    frame = np.random.default_rng(0).integers(0, 256, (model.sample_size, model.sample_size, model.channels), np.uint8)
    start = time.perf_counter()
    data = encode_png(frame)
    encode = time.perf_counter() - start
    return Probe(
        per_call=max(one - per_image, 1e-6),
        per_image=per_image,
        encode=encode,
        frame_bytes=len(data),
        call_batch=denoiser.call_batch or max_batch,
    )


@dataclass
class Cost:
    name: str
    calls: int = 0
    images: int = 0
    frames: int = 0
    seconds: float = 0.0
    disk_bytes: int = 0


def unit_calls(unit, found: Probe) -> int:
    """Model calls of a unit: each of its reverse steps in calls of at most the device's call batch."""
    steps = unit.calls or (math.ceil(unit.images / found.call_batch) if unit.images else 0)
    per_step = unit.images / steps if steps else 0
    return steps * max(1, math.ceil(per_step / found.call_batch)) if steps else 0


def unit_seconds(unit, found: Probe, extra: bool = True) -> float:
    """Expected seconds of a unit here. extra=False leaves out the work besides its model calls and
    frames (live's ONNX export): the order of the units among processes (costliest first) is by
    their model work, so the frames a lesson shows are done first and the export fills in last."""
    seconds = (
        unit_calls(unit, found) * found.per_call
        + unit.images * found.per_image
        + unit.frames * found.encode / default_workers()
    )
    return seconds + (unit.extra_calls * (found.per_call + found.per_image) + unit.extra_seconds if extra else 0.0)


def cost(name: str, units: list, found: Probe) -> Cost:
    """What the given units need: calls at the device's call batch, images, frames, disk, seconds."""
    total = Cost(name)
    for unit in units:
        total.calls += unit_calls(unit, found)
        total.images += unit.images
        total.frames += unit.frames
        total.seconds += unit_seconds(unit, found)
        total.disk_bytes += unit.frames * found.frame_bytes
    return total


def _size(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{n / 1024:,.0f} KB"


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def report(model, costs: list[Cost], found: Probe, processes: int = 1) -> list[str]:
    """The lines printed before the first model call (times for one process of `processes`)."""
    lines = [
        f"estimate for {model.slug} on {model.device.type} (probe: {found.per_call * 1000:.1f} ms per call "
        f"+ {found.per_image * 1000:.1f} ms per image, {found.call_batch} images per call)"
        + (f", shared by {processes} processes like this one:" if processes > 1 else ":")
    ]
    total = Cost("total")
    for c in costs:
        for key in ("calls", "images", "frames", "seconds", "disk_bytes"):
            setattr(total, key, getattr(total, key) + getattr(c, key))
    for c in [*costs, total] if len(costs) > 1 else costs:
        lines.append(
            f"  {c.name:<18} {c.calls:>7,} model calls {c.images:>9,} images {c.frames:>9,} frames "
            f"(up to {_size(c.disk_bytes)})  ~{_duration(c.seconds / processes)}"
        )
    if total.seconds / processes > LONG_SECONDS and model.device.type == "cpu":
        lines.append(
            f"  This takes about {_duration(total.seconds / processes)} on this CPU. On a GPU it is minutes "
            "(--device cuda); or use a smaller config (--config smoke, fewer seeds or steps), "
            "or run part of it with --only EXPERIMENT."
        )
    return lines
