"""Reverse process, the precompute side: one unit per group of seeds, every step of every trajectory.

`trajectory_plan` is shared: the spectra and trajectories lessons run the same reverse process and
add their own measurements of each batch (`measure`) to the frames' metrics.
"""

from __future__ import annotations

from typing import Callable

import torch

from ...core.measure import images, rms_each, snr
from ...core.sampling import alpha_bar, generators, reverse_process, start_noise
from ...toolkit.contract import Panel
from ...toolkit.units import Plan, Unit, pack, round_metric
from . import EPS, X0, X

Measure = Callable[[Panel, torch.Tensor], list[dict]]  # (panel, batch) -> extra metrics per sample


def plan(cfg, model, max_batch: int, source: str) -> Plan:
    return trajectory_plan(cfg, model, max_batch, (X, EPS, X0))


def trajectory_plan(
    cfg, model, max_batch: int, panels: tuple[Panel, Panel | None, Panel], measure: Measure | None = None
) -> Plan:
    """x_t (steps 0..T), eps (0..T-1, left out when its panel is None) and the x0 estimate (0..T-1)
    for every seed of `cfg.seeds`, sampled with `cfg.scheduler` in `cfg.steps` steps."""
    x_panel, eps_panel, x0_panel = panels
    shape = (model.channels, model.sample_size, model.sample_size)
    per_step = 3 if eps_panel else 2

    def make(seeds: list[int]) -> Unit:
        def compute(ctx, emit) -> None:
            scheduler = model.scheduler(cfg.scheduler)
            scheduler.set_timesteps(cfg.steps)
            gens = generators(seeds)
            x = start_noise(shape, gens, model.device, torch.float32)

            def on_step(i, step) -> None:
                a = alpha_bar(scheduler, step.timestep)
                common = {"timestep": step.timestep, "alpha_bar": a, "snr": snr(a)}
                last = i == cfg.steps - 1
                panels = [(x_panel, i, step.sample, common)]
                if eps_panel:
                    panels.append((eps_panel, i, step.pred_epsilon, common))
                panels.append((x0_panel, i, step.pred_original_sample, common))
                if last:  # the final image is the "next x_t" of the last step
                    panels.append(
                        (x_panel, i + 1, step.prev_sample, {"timestep": -1, "alpha_bar": 1.0, "snr": float("inf")})
                    )
                for panel, index, batch, metrics in panels:
                    extra = measure(panel, batch) if measure else [{}] * len(seeds)
                    for seed, frame, size, more in zip(seeds, images(batch), rms_each(batch), extra):
                        emit(panel, frame, dict(metrics, rms=size, **more), seed=seed, step=index)

            reverse_process(ctx.denoise, scheduler, x, gens if cfg.scheduler == "ddpm" else None, on_step)

        return Unit(
            key="seeds-" + "-".join(map(str, seeds)),
            images=cfg.steps * len(seeds),
            calls=cfg.steps,
            frames=(per_step * cfg.steps + 1) * len(seeds),
            content={"seeds": seeds, "steps": cfg.steps, "scheduler": cfg.scheduler},
            compute=compute,
        )

    scheduler = model.scheduler(cfg.scheduler)
    scheduler.set_timesteps(cfg.steps)
    timesteps = [int(t) for t in scheduler.timesteps]
    return Plan(
        units=[make(group) for group in pack(list(cfg.seeds), 1, max_batch)],
        describe={
            "seeds": list(cfg.seeds),
            "steps": cfg.steps,
            "timesteps": timesteps,
            "alpha_bar": [round_metric(alpha_bar(scheduler, t)) for t in timesteps],
            "panels": [p.name for p in panels if p],
            "value_range": [-1, 1],
        },
    )
