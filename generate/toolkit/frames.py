"""Reading a run's frames by what they show (no torch): the lookup every figure builder uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import UsageError
from .runs import Run

if TYPE_CHECKING:
    from .contract import Panel


class Frames:
    """Look frames up by their coords; a missing one is an error naming the manifest."""

    def __init__(self, run: Run):
        self.run = run
        self.by_coords = {self._key(f["coords"]): f for f in run.manifest["frames"]}

    @staticmethod
    def _key(coords: dict) -> tuple:
        return tuple(
            sorted(
                (k, float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
                for k, v in coords.items()
            )
        )

    def get(self, panel: Panel, **coords) -> dict:
        """The manifest record of the declared `panel` at `coords`."""
        wanted = panel.coords_of(**coords)
        frame = self.by_coords.get(self._key(wanted))
        if frame is None:
            raise UsageError(f"{self.run.path}: no frame with coords {wanted}; the manifest is incomplete")
        return frame

    def file(self, panel: Panel, **coords) -> str:
        return self.get(panel, **coords)["file"]


def axis(run: Run, name: str) -> list | int | float:
    value = run.manifest["axes"].get(name)
    if value is None:
        raise UsageError(f"{run.path}: axes.{name} is missing")
    return value


def snr(a: float) -> float | None:
    """Signal-to-noise ratio of a noise level (None where it is infinite: JSON has no inf)."""
    return a / (1 - a) if a < 1 else None
