"""Number of sampling steps compared (notebook 1, second part): fewer steps are faster, more are better.

The same start noise x_T of seed s is sampled with each step count n (DDIM by default, so the only
difference between trajectories is the step count). Every state is kept:
    x/{i}    the image after i of n steps, i = 0..n; progress i / n aligns trajectories of different n
    x0/{i}   the clean-image estimate at step i (i = 0..n-1)
and, per count, how far its final image lands from the reference, the final of the largest count N
(the most careful integration of the same trajectory):
    diff     |final_n - final_N| (channel mean, viridis, bright at DIFF_SCALE)   frame n{n}/s{s}/diff
    distance ||final_n - final_N||_2 on the 8-bit finals the figure shows (images in [-1, 1])
Each count costs n model calls; the seconds each count took are in run.json ("seconds_by_part").
Units: one per (count, group of seeds), as before, so a new count computes only its own trajectories;
then one unit "diffs" that reads the finals back from disk (no model call) and compares them.
"""

from __future__ import annotations

import time

import torch

from ..frames import heatmap
from ..runner import Unit
from ..sampling import alpha_bar, from_uint8, generators, reverse_process, start_noise
from . import Plan, images, pack

REVISION = 1  # 1: adds the "diffs" unit (differences to the reference final)
DIFF_SCALE = 0.5  # heatmap of |final - reference|: bright at a mean difference of 0.5 (a quarter of the range)


def plan(cfg, model, max_batch: int, source: str) -> Plan:
    shape = (model.channels, model.sample_size, model.sample_size)
    counts = sorted(set(cfg.steps))
    reference = counts[-1]

    def make(count: int, seeds: list[int]) -> Unit:
        def compute(ctx, emit) -> None:
            started = time.perf_counter()
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
            ctx.note_seconds(f"steps={count}", time.perf_counter() - started)

        return Unit(key=f"n{count}-seeds-" + "-".join(map(str, seeds)),
                    content={"seeds": seeds, "steps": count, "scheduler": cfg.scheduler},
                    images=count * len(seeds), compute=compute)

    def compare(ctx, emit) -> None:
        """|final_n - final_N| and ||final_n - final_N|| on the 8-bit finals the figure shows."""
        for seed in cfg.seeds:
            final = {n: from_uint8(ctx.read_frame(f"n{n}/s{seed}/x/{n:04d}")[None])[0] for n in counts}
            for n in counts:
                heat, distance = heatmap(final[n], final[reference], DIFF_SCALE)
                emit(f"n{n}/s{seed}/diff", heat, {"steps": n, "seed": seed, "panel": "diff"},
                     {"distance_to_reference": distance, "model_calls": n})

    units = [make(count, group) for count in counts for group in pack(list(cfg.seeds), 1, max_batch)]
    units.append(Unit(key="diffs", images=0, compute=compare, reads_frames=True,
                      content={"seeds": list(cfg.seeds), "steps": counts, "reference": reference,
                               "scheduler": cfg.scheduler, "diff_scale": DIFF_SCALE}))
    return Plan(units=units, describe={"steps": counts, "seeds": list(cfg.seeds), "reference": reference,
                                       "panels": ["x", "x0", "diff"], "diff_scale": DIFF_SCALE,
                                       "value_range": [-1, 1]})
