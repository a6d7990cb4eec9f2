"""Reverse process step by step (notebook 1): what goes into the denoiser and what comes out.

For each seed s and sampling step i (timestep t_i), with x_T the start noise of seed s:
    x_t    the input image at step i                          frame x/{i}        (i = 0..T)
    eps    the predicted noise epsilon_theta(x_t, t)           frame eps/{i}      (i = 0..T-1)
    x0     the clean-image estimate ("image minus noise")      frame x0/{i}
    next   the scheduler's output x_{t_(i+1)} = frame x/{i+1}  (so it is not stored twice)
DDPM (Algorithm 2) by default: it adds fresh noise at each step, drawn from the seed's generator.
"""

from __future__ import annotations

import torch

from ..runner import Unit, round_metric
from ..sampling import alpha_bar, generators, reverse_process, start_noise
from . import Plan, images, pack, rms_each, snr


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
                panels = [("x", i, step.sample, common), ("eps", i, step.pred_epsilon, common),
                          ("x0", i, step.pred_original_sample, common)]
                if last:  # the final image is the "next x_t" of the last step
                    panels.append(("x", i + 1, step.prev_sample,
                                   {"timestep": -1, "alpha_bar": 1.0, "snr": float("inf")}))
                for panel, index, batch, metrics in panels:
                    for seed, frame, size in zip(seeds, images(batch), rms_each(batch)):
                        emit(f"s{seed}/{panel}/{index:04d}", frame, {"seed": seed, "step": index, "panel": panel},
                             dict(metrics, rms=size))

            reverse_process(ctx.denoise, scheduler, x, gens if cfg.scheduler == "ddpm" else None, on_step)

        return Unit(key="seeds-" + "-".join(map(str, seeds)), images=cfg.steps * len(seeds),
                    content={"seeds": seeds, "steps": cfg.steps, "scheduler": cfg.scheduler},
                    compute=compute)

    scheduler = model.scheduler(cfg.scheduler)
    scheduler.set_timesteps(cfg.steps)
    timesteps = [int(t) for t in scheduler.timesteps]
    return Plan(units=[make(group) for group in pack(list(cfg.seeds), 1, max_batch)],
                describe={"seeds": list(cfg.seeds), "steps": cfg.steps, "timesteps": timesteps,
                          "alpha_bar": [round_metric(alpha_bar(scheduler, t)) for t in timesteps],
                          "panels": ["x", "eps", "x0"], "value_range": [-1, 1]})

