"""one_guess, the precompute side: every (seed, t) cell in one batch, one UNet call."""

from __future__ import annotations

import torch

from generate.core.measure import images
from generate.core.sampling import generators, split_prediction, start_noise
from generate.toolkit.units import Plan, Unit

from . import GUESS


def plan(cfg, model, max_batch: int, source: str) -> Plan:
    shape = (model.channels, model.sample_size, model.sample_size)
    cells = [(seed, t) for seed in cfg.seeds for t in cfg.timesteps]

    def compute(ctx, emit) -> None:
        scheduler = model.scheduler(cfg.scheduler)
        noise = start_noise(shape, generators(cfg.seeds), model.device, torch.float32)
        x = torch.stack([noise[cfg.seeds.index(seed)] for seed, _ in cells])
        t = torch.tensor([t for _, t in cells], device=model.device)
        output = ctx.denoise(x, t)
        for b, (seed, level) in enumerate(cells):
            _, x0 = split_prediction(scheduler, output[b : b + 1], x[b : b + 1], level)
            emit(GUESS, images(x0.clamp(-1, 1))[0], {}, seed=seed, t=level)

    return Plan(
        units=[
            Unit(
                key="all",
                images=len(cells),
                compute=compute,
                calls=1,
                frames=len(cells),
                content={"seeds": list(cfg.seeds), "timesteps": list(cfg.timesteps)},
            )
        ],
        describe={"seeds": list(cfg.seeds), "timesteps": list(cfg.timesteps)},
    )
