"""What a unit's `compute` gets besides `emit`: the batched denoiser, plus the run it writes into."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core.denoise import Denoiser
from ..toolkit.contract import Panel
from ..toolkit.png import decode_png
from ..toolkit.units import Trajectory
from .writer import BUDGET_BYTES


@dataclass
class Context(Denoiser):
    seconds_by_part: Counter = field(default_factory=Counter)  # an experiment's own timed parts -> seconds
    run_dir: Path | None = None  # the run being computed (set by `execute`), for `read_frame`
    host_reserve: int = BUDGET_BYTES  # frames waiting for the writer share the RAM with the UNet
    trajectories: Any = None  # the runs folder's TrajectoryStore (trajectories.py), for `trajectory`

    def read_frame(self, panel: Panel, **coords) -> np.ndarray:
        """A frame an earlier unit of this run emitted (computed now or reused), as (H, W, C) uint8."""
        return decode_png((self.run_dir / panel.path_of(**coords)).read_bytes()).copy()

    def trajectory(self, trajectory: Trajectory) -> dict[str, np.ndarray]:
        """A shared sampling run's arrays: read from the store, or computed now with this denoiser."""
        return self.trajectories.get(trajectory, self)

    def note_seconds(self, part: str, seconds: float) -> None:
        """Time of a named part of a unit (e.g. one step count), summed over units; goes to run.json."""
        self.seconds_by_part[part] += seconds
