"""Measurements on batches of images, and their conversion to frames (the one device-to-host copy).

Images are tensors in [-1, 1], (N, C, H, W) for a batch or (C, H, W) for one; frames are (H, W, C) uint8.
"""

from __future__ import annotations

import numpy as np
import torch

from .sampling import to_uint8

# Viridis at 9 stops (matplotlib's colormap, sampled), linearly interpolated to 256 entries:
# perceptually ordered and readable by colour-blind readers; dark = no difference.
_VIRIDIS_STOPS = np.array(
    [
        [68, 1, 84],
        [71, 44, 122],
        [59, 81, 139],
        [44, 113, 142],
        [33, 144, 141],
        [39, 173, 129],
        [92, 200, 99],
        [170, 220, 50],
        [253, 231, 37],
    ],
    dtype=np.float64,
)
VIRIDIS = (
    np.stack([np.interp(np.linspace(0, 8, 256), np.arange(9), _VIRIDIS_STOPS[:, c]) for c in range(3)], axis=1)
    .round()
    .astype(np.uint8)
)


def image(x: torch.Tensor) -> np.ndarray:
    """One (C, H, W) tensor in [-1, 1] -> (H, W, C) uint8 frame."""
    return to_uint8(x[None])[0].numpy()


def images(batch: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> (N, H, W, C) uint8: one device-to-host copy per panel and step."""
    return to_uint8(batch).numpy()


def rms_each(batch: torch.Tensor) -> list[float]:
    """Per-sample root mean square, fetched in one transfer."""
    return batch.float().pow(2).flatten(1).mean(1).sqrt().tolist()


def rms(x: torch.Tensor) -> float:
    """Root mean square: the per-pixel size of a tensor (1.0 for unit-variance noise)."""
    return float(x.float().pow(2).mean().sqrt())


def snr(alpha_bar: float) -> float:
    """Signal-to-noise ratio alpha_bar / (1 - alpha_bar) of a noise level (inf at alpha_bar = 1)."""
    return alpha_bar / (1.0 - alpha_bar) if alpha_bar < 1.0 else float("inf")


def heatmap(a: torch.Tensor, b: torch.Tensor, scale: float) -> tuple[np.ndarray, float]:
    """|a - b| averaged over channels, mapped through viridis with 0 -> dark and `scale` -> bright.

    Returns the (H, W, 3) uint8 image and the Euclidean distance ||a - b||_2.
    """
    diff = a.float() - b.float()
    mean_abs = diff.abs().mean(dim=0).cpu().numpy()
    index = np.clip(mean_abs / scale * 255.0, 0, 255).round().astype(np.uint8)
    return VIRIDIS[index], float(torch.linalg.vector_norm(diff))
