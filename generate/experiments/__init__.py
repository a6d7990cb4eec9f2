"""The experiment grids, one module each, in the order the explainer tells them."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from types import ModuleType

import numpy as np
import torch

from ..runner import Unit
from ..sampling import to_uint8


@dataclass
class Plan:
    units: list[Unit]
    describe: dict  # axes and display facts the site needs (written into the manifest)


def module(name: str) -> ModuleType:
    return import_module(f"{__name__}.{name}")


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


def pack(items: list, cost: int, max_batch: int) -> list[list]:
    """Split `items` (each `cost` images) into groups of at most `max_batch` images, in order."""
    per_group = max(1, max_batch // max(1, cost))
    return [items[i:i + per_group] for i in range(0, len(items), per_group)]


def snr(alpha_bar: float) -> float:
    return alpha_bar / (1.0 - alpha_bar) if alpha_bar < 1.0 else float("inf")
