"""What an experiment's plan is made of (no torch): units, the grain of computing, resuming and reuse.

A unit is a group of grid cells that go through the reverse process together (one batch that shares
every timestep). The precompute (generate/precompute/plan.py) hashes each unit and names the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


@dataclass
class Trajectory:
    """A sampling run that more than one experiment reads (the 1000-step DDIM run: step counts' most
    careful run and the samplers' converged image). The precompute computes it once per model and
    runs folder and keeps the arrays its readers need in a store keyed by content hash
    (generate/precompute/trajectories.py); a unit reads it with `ctx.trajectory(t)`. Frames made from
    it are the bytes a unit computing it itself would make (same code, same batch)."""

    key: str  # readable name, e.g. "ddim-trailing-n1000-seeds-0-1-2-3"
    content: dict  # what decides its arrays besides the model and device: sampler, spacing, steps, seeds
    calls: int  # denoiser invocations (for the estimate: counted once however many units read it)
    images: int  # images denoised
    compute: Callable[[Any], dict[str, np.ndarray]]  # ctx -> named arrays (frames as uint8, numbers)


@dataclass
class Unit:
    key: str  # stable name of the cells it holds, e.g. "seeds-0-1"
    images: int  # images denoised (UNet call x batch)
    compute: Callable[[Any, Callable], None]  # (context, emit) -> None; emit(panel, frame, metrics, **coords)
    content: dict = field(default_factory=dict)  # everything of the config that shapes its frames
    hash: str = ""  # set by `prepare`: content + model + scheduler + device + batch composition
    reads_frames: bool = False  # computed from frames of earlier units (ctx.read_frame), not by the model
    calls: int = 0  # denoiser invocations (reverse steps); each costs ceil(batch / call_batch) model calls
    frames: int = 0  # frames it emits: for the cost estimate before a run (estimate.py)
    # work besides its model calls, for the estimate: one-image calls' worth (tracing a graph scales with
    # the model) plus fixed seconds (the estimate only; never part of the unit's hash)
    extra_calls: int = 0
    extra_seconds: float = 0.0
    trajectories: list[Trajectory] = field(default_factory=list)  # the shared runs it reads (not in calls/images)


@dataclass
class Plan:
    units: list[Unit]
    describe: dict  # axes and display facts the site needs (written into the manifest as "axes")


def pack(items: list, cost: int, max_batch: int) -> list[list]:
    """Split `items` (each `cost` images) into groups of at most `max_batch` images, in order."""
    per_group = max(1, max_batch // max(1, cost))
    return [items[i : i + per_group] for i in range(0, len(items), per_group)]


def round_metric(value: float | list) -> float | None | list:
    """Six significant digits: stable JSON across runs, ample for charts. A list (a spectrum) is
    rounded element by element."""
    if isinstance(value, (list, tuple)):
        return [round_metric(v) for v in value]
    value = float(value)
    if not np.isfinite(value):
        return None
    return float(f"{value:.6g}")
