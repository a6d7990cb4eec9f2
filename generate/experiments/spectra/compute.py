"""Coarse to fine, the precompute side: the reverse process of the reverse page (its code), with the
power spectrum of every state in the frame's metrics, measured on the float tensors."""

from __future__ import annotations

from ...toolkit.units import Plan
from ..reverse.compute import trajectory_plan
from . import EPS, X0, X
from .spectrum import frequencies, radial_power


def plan(cfg, model, max_batch: int, source: str) -> Plan:
    def measure(panel, batch) -> list[dict]:
        spectra = radial_power(batch.float().permute(0, 2, 3, 1).cpu().numpy())
        return [{"spectrum": row.tolist()} for row in spectra]  # rounded by the writer

    result = trajectory_plan(cfg, model, max_batch, (X, EPS, X0), measure)
    result.describe["frequencies"] = frequencies(model.sample_size)
    return result
