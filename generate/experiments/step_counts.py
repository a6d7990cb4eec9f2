"""Number of sampling steps compared (notebook 1, second part): fewer steps are faster, more are better.

The same start noise x_T of seed s is sampled with each step count n (DDIM by default, so the only
difference between trajectories is the step count). Every state is kept:
    x/{i}    the image after i of n steps, i = 0..n; progress i / n aligns trajectories of different n
    x0/{i}   the clean-image estimate at step i (i = 0..n-1)
"""

from __future__ import annotations

import torch

from ..runner import Unit
from ..sampling import alpha_bar, generators, reverse_process, start_noise
from . import Plan, images, pack


def plan(cfg, model, max_batch: int, source: str) -> Plan:
    shape = (model.channels, model.sample_size, model.sample_size)

    def make(count: int, seeds: list[int]) -> Unit:
        def compute(ctx, emit) -> None:
            scheduler = model.scheduler(cfg.scheduler)
            scheduler.set_timesteps(count)
            gens = generators(seeds)
            x = start_noise(shape, gens, model.device, torch.float32)

            def on_step(i, step) -> None:
                a = alpha_bar(scheduler, step.timestep)
                metrics = {"timestep": step.timestep, "alpha_bar": a, "progress": i / count}
                panels = [("x", i, step.sample, metrics), ("x0", i, step.pred_original_sample, metrics)]
                if i == count - 1:
                    panels.append(("x", count, step.prev_sample, {"timestep": -1, "alpha_bar": 1.0, "progress": 1.0}))
                for panel, index, batch, values in panels:
                    for seed, frame in zip(seeds, images(batch)):
                        emit(f"n{count}/s{seed}/{panel}/{index:04d}", frame,
                             {"steps": count, "seed": seed, "step": index, "panel": panel}, values)

            reverse_process(ctx.denoise, scheduler, x, gens if cfg.scheduler == "ddpm" else None, on_step)

        return Unit(key=f"n{count}-seeds-" + "-".join(map(str, seeds)),
                    content={"seeds": seeds, "steps": count, "scheduler": cfg.scheduler},
                    images=count * len(seeds), compute=compute)

    units = [make(count, group) for count in cfg.steps for group in pack(list(cfg.seeds), 1, max_batch)]
    return Plan(units=units, describe={"steps": list(cfg.steps), "seeds": list(cfg.seeds),
                                       "panels": ["x", "x0"], "value_range": [-1, 1]})
