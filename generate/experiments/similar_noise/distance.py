"""The typical distance between two pictures of one model: the yardstick several lessons measure by."""

from __future__ import annotations

import statistics

from ...toolkit.runs import Run


def typical_distance(mix: Run | None) -> float | None:
    """Mean distance between the outputs of two independent noises: the mix run at s = 1."""
    if mix is None:
        return None
    values = [
        f["metrics"]["output_distance"]
        for f in mix.manifest["frames"]
        if f["coords"].get("panel") == "o2" and float(f["coords"].get("scale", -1)) == 1.0
    ]
    return statistics.fmean(values) if values else None
