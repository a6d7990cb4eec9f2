"""Where trajectories go, the precompute side: the reverse process of the reverse page (its code),
x_t and the x0 estimate of every seed at every step; the projection is fitted by the site on the
frames (figure.py), so nothing here depends on the other seeds."""

from __future__ import annotations

from ...precompute.plan import Plan
from ..reverse.compute import trajectory_plan
from . import X, X0


def plan(cfg, model, max_batch: int, source: str) -> Plan:
    return trajectory_plan(cfg, model, max_batch, (X, None, X0))
