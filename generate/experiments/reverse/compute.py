"""Reverse process, the precompute side: one unit per group of seeds, every step of every trajectory."""

from __future__ import annotations

import torch

from ...core.measure import images, rms_each, snr
from ...core.sampling import alpha_bar, generators, reverse_process, start_noise
from ...precompute.plan import Plan, Unit, pack, round_metric
from . import EPS, X, X0


def plan(cfg, model, max_batch: int, source: str) -> Plan:
    shape = (model.channels, model.sample_size, model.sample_size)

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
                panels = [(X, i, step.sample, common), (EPS, i, step.pred_epsilon, common),
                          (X0, i, step.pred_original_sample, common)]
                if last:  # the final image is the "next x_t" of the last step
                    panels.append((X, i + 1, step.prev_sample,
                                   {"timestep": -1, "alpha_bar": 1.0, "snr": float("inf")}))
                for panel, index, batch, metrics in panels:
                    for seed, frame, size in zip(seeds, images(batch), rms_each(batch)):
                        emit(panel, frame, dict(metrics, rms=size), seed=seed, step=index)

            reverse_process(ctx.denoise, scheduler, x, gens if cfg.scheduler == "ddpm" else None, on_step)

        return Unit(key="seeds-" + "-".join(map(str, seeds)), images=cfg.steps * len(seeds),
                    calls=cfg.steps, frames=(3 * cfg.steps + 1) * len(seeds),
                    content={"seeds": seeds, "steps": cfg.steps, "scheduler": cfg.scheduler},
                    compute=compute)

    scheduler = model.scheduler(cfg.scheduler)
    scheduler.set_timesteps(cfg.steps)
    timesteps = [int(t) for t in scheduler.timesteps]
    return Plan(units=[make(group) for group in pack(list(cfg.seeds), 1, max_batch)],
                describe={"seeds": list(cfg.seeds), "steps": cfg.steps, "timesteps": timesteps,
                          "alpha_bar": [round_metric(alpha_bar(scheduler, t)) for t in timesteps],
                          "panels": [X.name, EPS.name, X0.name], "value_range": [-1, 1]})

