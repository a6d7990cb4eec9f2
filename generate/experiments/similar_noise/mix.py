"""Similar noise, experiment 2 (notebook 3): mix the start noise with fresh noise.

    n2 = sqrt(1 - s^2) n1 + s n'        s in [0, 1]
For independent unit-variance n1 and n', n2 is again unit-variance Gaussian noise (the weights'
squares sum to 1), so every n2 is a valid start noise. s = 0 gives n1 back, s = 1 a fresh noise.
Lesson: a slightly changed noise gives a slightly changed image.
"""

from __future__ import annotations

import math

from ...toolkit.units import Plan
from . import MIX_PANELS, MIX_VARIANT, pairs


def _mixed(scale: float):
    return lambda n1, fresh: math.sqrt(1.0 - scale * scale) * n1 + scale * fresh


def plan(cfg, model, max_batch: int, source: str) -> Plan:
    variants = [(MIX_VARIANT.format(scale=scale), {"scale": scale}, _mixed(scale)) for scale in cfg.scales]
    return Plan(
        units=pairs.units(cfg, model, max_batch, variants, MIX_PANELS),
        describe=dict(pairs.describe(cfg), scales=list(cfg.scales)),
    )
