"""What each lesson's text claims about its figure, computed from the runs the figure shows.

Each experiment declares its `facts` (experiments/<name>/figure.py); the pages word their claims
from those numbers (and switch wording where the data say otherwise), and tests/test_claims.py
checks the claims against the default runs, so a sentence on the site cannot silently contradict
the figure beside it. The helpers here read frames as the reader sees them: torch is not needed.
"""

from __future__ import annotations

import statistics
import numpy as np
from PIL import Image

from .runs import Run

EDGE_NOISE_CORRELATION = 0.1  # |r| at or above which the outline counts as visible in a noise frame


def pixels(run: Run, record: dict) -> np.ndarray:
    """A frame as (H, W, C) floats in [-1, 1], as the figure shows it."""
    with Image.open(run.folder / record["file"]) as image:
        array = np.asarray(image, dtype=np.float64) / 127.5 - 1.0
    return array[..., None] if array.ndim == 2 else array


def edges(image: np.ndarray) -> np.ndarray:
    """Gradient magnitude of the channel mean (central differences): where the picture has edges."""
    grey = image.mean(axis=2)
    gx, gy = np.zeros_like(grey), np.zeros_like(grey)
    gx[:, 1:-1] = grey[:, 2:] - grey[:, :-2]
    gy[1:-1] = grey[2:] - grey[:-2]
    return np.hypot(gx, gy)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


def _coarse(image: np.ndarray, block: int) -> np.ndarray:
    """The picture's large shapes: means over block x block squares, spread back to full size."""
    h, w, c = image.shape
    means = image[:h - h % block, :w - w % block].reshape(h // block, block, w // block, block, c).mean(axis=(1, 3))
    return np.repeat(np.repeat(means, block, axis=0), block, axis=1)


def settled_steps(x0_frames: list[np.ndarray], final: np.ndarray, share: float = 0.9) -> tuple[int, int]:
    """First step at which the x0 estimate has `share` of the final's coarse content right, and the
    first at which it has that share of its fine detail (what the coarse part leaves) right.

    Settled share of a band B at step i: 1 - ||B(x0_i - final)|| / ||B(final - mean)||, with B the
    block means (4 x 4 blocks: 8 x 8 shapes on a 32-px image) or the rest.
    """
    block = max(2, final.shape[0] // 8)
    crop = final.shape[0] - final.shape[0] % block
    final = final[:crop, :crop]
    low_ref = np.linalg.norm(_coarse(final - final.mean(), block))
    high_ref = np.linalg.norm(final - _coarse(final, block))
    low_at = high_at = len(x0_frames)
    for i, x0 in enumerate(x0_frames):
        d = x0[:crop, :crop] - final
        coarse = _coarse(d, block)
        if low_at == len(x0_frames) and 1 - np.linalg.norm(coarse) / max(low_ref, 1e-9) >= share:
            low_at = i
        if high_at == len(x0_frames) and 1 - np.linalg.norm(d - coarse) / max(high_ref, 1e-9) >= share:
            high_at = i
    return low_at, high_at


def typical_distance(mix: Run | None) -> float | None:
    """Mean distance between the outputs of two independent noises: the mix run at s = 1."""
    if mix is None:
        return None
    values = [f["metrics"]["output_distance"] for f in mix.manifest["frames"]
              if f["coords"].get("panel") == "o2" and float(f["coords"].get("scale", -1)) == 1.0]
    return statistics.fmean(values) if values else None


def for_models(chosen: dict[tuple[str, str], Run]) -> dict[str, dict]:
    """Every lesson's facts, per model slug and experiment, for the runs the site shows: each
    experiment's declared `facts` sees its own run and the model's other runs (by experiment)."""
    from .. import experiments

    by_model: dict[str, dict[str, Run]] = {}
    for (slug, name), run in chosen.items():
        by_model.setdefault(slug, {})[name] = run
    facts: dict[str, dict] = {}
    for slug, runs in by_model.items():
        entry = facts.setdefault(slug, {})
        for name, run in runs.items():
            declared = experiments.get(name).facts
            if declared:
                entry[name] = declared(run, runs)
    return facts
