"""Number of steps, the precompute side.

Units: one per (count, group of seeds), so a new count computes only its own trajectories; then one
unit "diffs" that reads the finals back from disk (no model call) and compares them.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ...core.measure import heatmap, images
from ...core.sampling import alpha_bar, from_uint8, generators, reverse_process, start_noise
from ...toolkit.units import Plan, Trajectory, Unit, pack
from . import DIFF, DIFF_SCALE, LEADING, LEADING_DIFF, X0, X


def sampling_trajectory(model, kind: str, count: int, seeds: list[int]) -> Trajectory:
    """`count` steps of `kind` (ddim or ddpm, trailing spacing: from t = T - 1) from the seeds' start
    noise, every state as the frames show it: x (count + 1 states, the last the final image), the
    x0 estimates (count), and each step's timestep and alpha_bar. Shared through the trajectory store:
    step counts shows every state of it, the samplers compare their finals with its last."""
    shape = (model.channels, model.sample_size, model.sample_size)

    def compute(ctx) -> dict[str, np.ndarray]:
        scheduler = model.scheduler(kind)
        scheduler.set_timesteps(count)
        gens = generators(seeds)
        x = start_noise(shape, gens, model.device, torch.float32)
        xs, x0s, timesteps, alpha_bars = [], [], [], []

        def on_step(i, step) -> None:
            xs.append(images(step.sample))
            x0s.append(images(step.pred_original_sample))
            timesteps.append(int(step.timestep))
            alpha_bars.append(alpha_bar(scheduler, step.timestep))
            if i == count - 1:
                xs.append(images(step.prev_sample))

        reverse_process(ctx.denoise, scheduler, x, gens if kind == "ddpm" else None, on_step)
        return {
            "x": np.stack(xs),
            "x0": np.stack(x0s),
            "timestep": np.array(timesteps, dtype=np.int64),
            "alpha_bar": np.array(alpha_bars, dtype=np.float64),
        }

    return Trajectory(
        key=f"{kind}-trailing-n{count}-seeds-" + "-".join(map(str, seeds)),
        content={"sampler": kind, "spacing": "trailing", "steps": count, "seeds": list(seeds)},
        calls=count,
        images=count * len(seeds),
        compute=compute,
    )


def plan(cfg, model, max_batch: int, source: str) -> Plan:
    shape = (model.channels, model.sample_size, model.sample_size)
    counts = sorted(set(cfg.steps))
    reference = counts[-1]

    def make(count: int, seeds: list[int]) -> Unit:
        trajectory = sampling_trajectory(model, cfg.scheduler, count, seeds)

        def compute(ctx, emit) -> None:
            started = time.perf_counter()  # the unit's time: the trajectory's, if this unit computed it
            run = ctx.trajectory(trajectory)
            for i in range(count):
                metrics = {
                    "timestep": int(run["timestep"][i]),
                    "alpha_bar": float(run["alpha_bar"][i]),
                    "progress": i / count,
                }
                panels = [(X, i, run["x"][i], metrics), (X0, i, run["x0"][i], metrics)]
                if i == count - 1:
                    panels.append((X, count, run["x"][count], {"timestep": -1, "alpha_bar": 1.0, "progress": 1.0}))
                for panel, index, frames, values in panels:
                    for seed, frame in zip(seeds, frames):
                        emit(panel, frame, values, steps=count, seed=seed, step=index)
            ctx.note_seconds(f"steps={count}", time.perf_counter() - started)

        return Unit(
            key=f"n{count}-seeds-" + "-".join(map(str, seeds)),
            calls=0,  # its model calls are the trajectory's (counted once, however many units read it)
            frames=(2 * count + 1) * len(seeds),
            content={"seeds": seeds, "steps": count, "scheduler": cfg.scheduler},
            images=0,
            compute=compute,
            trajectories=[trajectory],
        )

    def make_leading(count: int, seeds: list[int]) -> Unit:
        """The same count with leading spacing: only its final image is kept, with where it started."""

        def compute(ctx, emit) -> None:
            scheduler = model.scheduler(cfg.scheduler, spacing="leading")
            scheduler.set_timesteps(count)
            gens = generators(seeds)
            x = start_noise(shape, gens, model.device, torch.float32)
            final = reverse_process(
                ctx.denoise, scheduler, x, gens if cfg.scheduler == "ddpm" else None, lambda i, step: None
            )
            first = int(scheduler.timesteps[0])
            for seed, frame in zip(seeds, images(final)):
                emit(
                    LEADING,
                    frame,
                    {"first_timestep": first, "alpha_bar": alpha_bar(scheduler, first)},
                    steps=count,
                    seed=seed,
                )

        return Unit(
            key=f"leading-n{count}-seeds-" + "-".join(map(str, seeds)),
            calls=count,
            frames=len(seeds),
            content={"seeds": seeds, "steps": count, "scheduler": cfg.scheduler, "spacing": "leading"},
            images=count * len(seeds),
            compute=compute,
        )

    def compare(ctx, emit) -> None:
        """|final_n - final_N| and ||final_n - final_N|| on the 8-bit finals the figure shows."""
        for seed in cfg.seeds:
            final = {n: from_uint8(ctx.read_frame(X, steps=n, seed=seed, step=n)[None])[0] for n in counts}
            for n in counts:
                heat, distance = heatmap(final[n], final[reference], DIFF_SCALE)
                emit(DIFF, heat, {"distance_to_reference": distance, "model_calls": n}, steps=n, seed=seed)
            for n in leading:
                other = from_uint8(ctx.read_frame(LEADING, steps=n, seed=seed)[None])[0]
                heat, distance = heatmap(other, final[reference], DIFF_SCALE)
                emit(LEADING_DIFF, heat, {"distance_to_reference": distance, "model_calls": n}, steps=n, seed=seed)

    leading = sorted(set(cfg.leading))
    units = [make(count, group) for count in counts for group in pack(list(cfg.seeds), 1, max_batch)]
    units += [make_leading(count, group) for count in leading for group in pack(list(cfg.seeds), 1, max_batch)]
    units.append(
        Unit(
            key="diffs",
            images=0,
            compute=compare,
            reads_frames=True,
            frames=(len(counts) + len(leading)) * len(cfg.seeds),
            content={
                "seeds": list(cfg.seeds),
                "steps": counts,
                "reference": reference,
                "scheduler": cfg.scheduler,
                "diff_scale": DIFF_SCALE,
                **({"leading": leading} if leading else {}),
            },
        )
    )
    return Plan(
        units=units,
        describe={
            "steps": counts,
            "seeds": list(cfg.seeds),
            "reference": reference,
            "panels": [X.name, X0.name, DIFF.name],
            "diff_scale": DIFF_SCALE,
            "value_range": [-1, 1],
            "leading": leading,
            "first_timesteps": {
                "trailing": first_timesteps(model, cfg.scheduler, counts),
                "leading": first_timesteps(model, cfg.scheduler, leading, "leading"),
            },
        },
    )


def first_timesteps(model, kind: str, counts: list[int], spacing: str | None = None) -> dict[str, dict]:
    """Where an n-step run starts: its first timestep and alpha_bar there (no model call)."""
    result = {}
    for n in counts:
        scheduler = model.scheduler(kind, **({"spacing": spacing} if spacing else {}))
        scheduler.set_timesteps(n)
        t = int(scheduler.timesteps[0])
        result[str(n)] = {"timestep": t, "alpha_bar": round(alpha_bar(scheduler, t), 6)}
    return result
