"""Similar noise, experiment 1 (notebook 3): replace one square patch of the start noise.

n2 = n1 except the square [y, y + size) x [x, x + size), which takes fresh noise n'.
Lesson: under DDIM a local change of the noise moves the picture most at the patch (per pixel), yet most
of the change lies outside it, where most of the image is; a larger patch usually moves it further.
"""

from __future__ import annotations

from ...toolkit.units import Plan
from . import PATCH_PANELS, PATCH_VARIANT, pairs


def _patched(size: int, x: int, y: int):
    def make(n1, fresh):
        n2 = n1.clone()
        n2[:, y : y + size, x : x + size] = fresh[:, y : y + size, x : x + size]
        return n2

    return make


def plan(cfg, model, max_batch: int, source: str) -> Plan:
    variants = [
        (PATCH_VARIANT.format(size=size, x=x, y=y), {"size": size, "x": x, "y": y}, _patched(size, x, y))
        for size in cfg.sizes
        for x, y in cfg.positions
    ]
    return Plan(
        units=pairs.units(cfg, model, max_batch, variants, PATCH_PANELS),
        describe=dict(
            pairs.describe(cfg),
            sizes=list(cfg.sizes),
            positions=[list(p) for p in cfg.positions],
            image_size=model.sample_size,
        ),
    )
