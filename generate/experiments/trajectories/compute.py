"""Where trajectories go, the precompute side: the reverse process of the reverse page (its code),
x_t and the x0 estimate of every seed at every step; the projection is fitted by the site on the
frames (figure.py), so nothing here depends on the other seeds.

Distances about noise are measured here, on the float tensors: a frame of noise is clipped to
[-1, 1] (about a third of unit noise's values lie outside), which shrinks every distance measured
on it by about a quarter. Two measurements:
    gap                on each x0 frame: ||x_t - x0_hat|| of its seed at its step (float)
    start_noise        in the axes: the distances ||x_T(s) - x_T(s')|| between every two seeds'
                       start noises, drawn again here exactly as the units draw them (start_noise on
                       the CPU, one generator per seed), so no unit has to see the other seeds
"""

from __future__ import annotations

import itertools
import statistics

import torch

from ...core.sampling import generators, start_noise
from ...toolkit.units import Plan, round_metric
from ..reverse.compute import trajectory_plan
from . import X0, X

MEASURES = ["gap"]  # in every unit's content: units made before these metrics are not reused


def start_noise_distances(seeds: list[int], shape: tuple[int, int, int]) -> dict:
    """Every pair's float distance between start noises; the mean is what the page quotes."""
    noise = start_noise(shape, generators(seeds), torch.device("cpu"), torch.float32).double().flatten(1)
    pairs = [
        (a, b, float(torch.linalg.vector_norm(noise[i] - noise[j])))
        for (i, a), (j, b) in itertools.combinations(enumerate(seeds), 2)
    ]
    values = [d for _, _, d in pairs]
    return {
        "mean": round_metric(statistics.fmean(values)),
        "min": round_metric(min(values)),
        "max": round_metric(max(values)),
        "pairs": len(pairs),
        "dimensions": noise.shape[1],
    }


def plan(cfg, model, max_batch: int, source: str) -> Plan:
    # trajectory_plan measures each step's panels in order: x_t, then its x0 estimate (then, at the
    # last step, the final image). The x_t batch waits here for the estimate that follows it.
    waiting: dict[str, torch.Tensor] = {}

    def measure(panel, batch) -> list[dict]:
        if panel is X:
            waiting["x"] = batch.detach().double()
            return [{}] * batch.shape[0]
        if panel is not X0 or "x" not in waiting:
            raise RuntimeError(f"trajectories: the {panel.name} panel came without the x_t of its step")
        x_t = waiting.pop("x")
        gap = torch.linalg.vector_norm((x_t - batch.detach().double()).flatten(1), dim=1)
        return [{"gap": g} for g in gap.cpu().tolist()]  # rounded by the writer

    result = trajectory_plan(cfg, model, max_batch, (X, None, X0), measure)
    for unit in result.units:
        unit.content = dict(unit.content, measures=MEASURES)
    shape = (model.channels, model.sample_size, model.sample_size)
    result.describe["start_noise"] = start_noise_distances(list(dict.fromkeys(cfg.seeds)), shape)
    return result
