"""Measures of frames as the reader sees them (8-bit PNGs read back to [-1, 1]; no torch): what the
lessons' facts are computed from (each experiment's figure.py), so a claim on a page and the figure
beside it read the same pixels."""

from __future__ import annotations

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
    means = image[: h - h % block, : w - w % block].reshape(h // block, block, w // block, block, c).mean(axis=(1, 3))
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
