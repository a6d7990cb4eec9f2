"""Number of steps, the precompute side.

Units: one per (count, group of seeds), so a new count computes only its own trajectories; then one
unit "diffs" that reads the finals back from disk (no model call) and compares them.
"""

from __future__ import annotations

import time

import torch

from ...core.measure import heatmap, images
from ...core.sampling import alpha_bar, from_uint8, generators, reverse_process, start_noise
from ...toolkit.units import Plan, Unit, pack
from . import DIFF, DIFF_SCALE, LEADING, LEADING_DIFF, X0, X


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
                panels = [(X, i, step.sample, metrics), (X0, i, step.pred_original_sample, metrics)]
                if i == count - 1:
                    panels.append((X, count, step.prev_sample, {"timestep": -1, "alpha_bar": 1.0, "progress": 1.0}))
                for panel, index, batch, values in panels:
                    for seed, frame in zip(seeds, images(batch)):
                        emit(panel, frame, values, steps=count, seed=seed, step=index)

            reverse_process(ctx.denoise, scheduler, x, gens if cfg.scheduler == "ddpm" else None, on_step)
            ctx.note_seconds(f"steps={count}", time.perf_counter() - started)

        return Unit(
            key=f"n{count}-seeds-" + "-".join(map(str, seeds)),
            calls=count,
            frames=(2 * count + 1) * len(seeds),
            content={"seeds": seeds, "steps": count, "scheduler": cfg.scheduler},
            images=count * len(seeds),
            compute=compute,
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
