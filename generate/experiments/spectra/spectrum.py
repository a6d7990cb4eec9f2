"""The radially averaged power spectrum of images (numpy only: the precompute measures float
states with it, the site and the tests measure the 8-bit frames with the same code).

    P(k) = mean over the FFT coefficients F(u, v) with round(sqrt(u^2 + v^2)) = k of |F(u, v)|^2 / (H W),
           averaged over channels;  k = 1 .. side / 2 in cycles per image (k = 0, the mean, left out)

With that normalisation white noise of variance s^2 has P(k) = s^2 at every k (Parseval), so the
noise of x_t, sqrt(1 - alpha_bar) eps, sits at the flat level 1 - alpha_bar.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=8)
def _rings(side: int) -> tuple[np.ndarray, np.ndarray]:
    """Ring index per FFT coefficient (flattened; -1 outside k = 1 .. side / 2) and coefficients per ring."""
    f = np.fft.fftfreq(side) * side
    radius = np.rint(np.hypot(f[:, None], f[None, :])).astype(np.int64).ravel()
    ring = np.where((radius >= 1) & (radius <= side // 2), radius - 1, -1)
    counts = np.bincount(ring[ring >= 0], minlength=side // 2)
    return ring, counts


def ring_counts(side: int) -> np.ndarray:
    """How many FFT coefficients each ring k = 1 .. side / 2 holds: a ring's share of an image's
    power is its mean power (radial_power) times this count."""
    return _rings(side)[1].copy()


def frequencies(side: int) -> list[int]:
    """The k of each value radial_power returns: cycles per image, 1 .. side / 2."""
    return list(range(1, side // 2 + 1))


def radial_power(batch: np.ndarray) -> np.ndarray:
    """(N, H, W, C) images (any float scale) -> (N, H // 2) radially averaged power spectra."""
    batch = np.asarray(batch, dtype=np.float64)
    n, h, w, c = batch.shape
    if h != w:
        raise ValueError(f"radial_power needs square images, got {h}x{w}")
    power = (np.abs(np.fft.fft2(batch, axes=(1, 2))) ** 2).mean(axis=3) / (h * w)  # (N, H, W)
    ring, counts = _rings(h)
    keep = ring >= 0
    sums = np.stack([np.bincount(ring[keep], weights=p.ravel()[keep], minlength=h // 2) for p in power])
    return sums / counts
