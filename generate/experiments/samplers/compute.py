"""Samplers compared, the precompute side.

Units: one per (sampler, budget, group of seeds), one for the reference (DDIM, `reference` steps),
then "distances", which reads the finals back (no model call) and compares each with the reference.
"""

from __future__ import annotations

import math

import torch
from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
    HeunDiscreteScheduler,
)

from ...core.measure import heatmap, images
from ...core.sampling import from_uint8, generators, start_noise
from ...spacing import sampling_config
from ...toolkit.units import Plan, Unit, pack, round_metric
from ..step_counts.compute import sampling_trajectory
from . import DIFF, DIFF_SCALE, REF, X


def steps_for(kind: str, calls: int) -> int:
    """Steps a sampler takes within `calls` model calls: Heun's n steps cost 2n - 1 calls."""
    return (calls + 1) // 2 if kind == "heun" else calls


def calls_of(kind: str, steps: int) -> int:
    return 2 * steps - 1 if kind == "heun" else steps


def scheduler_for(kind: str, base: dict, steps: int):
    """diffusers' scheduler of `kind` from the model's config: as every sampler here (generate/spacing.py)."""
    config = sampling_config(base)
    if kind == "ddim":
        scheduler = DDIMScheduler.from_config(config)
    elif kind == "ddpm":
        scheduler = DDPMScheduler.from_config(config)
    elif kind == "dpmpp_2m":
        scheduler = DPMSolverMultistepScheduler.from_config(config, algorithm_type="dpmsolver++", solver_order=2)
    elif kind == "euler":
        scheduler = EulerDiscreteScheduler.from_config(config)
    elif kind == "heun":
        scheduler = HeunDiscreteScheduler.from_config(config)
    else:
        raise ValueError(f"sampler {kind!r}")
    scheduler.set_timesteps(steps)
    return scheduler


def call_sigmas(kind: str, base: dict, steps: int) -> list[float]:
    """The noise level sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t) of the input of each of the
    sampler's model calls, in call order (Heun: two calls at each level but the first and the last),
    read off the scheduler's own timesteps: what the page's noise-level chart draws."""
    alpha_bar = scheduler_for("ddim", base, steps).alphas_cumprod.double()
    levels = [float(alpha_bar[int(round(float(t)))]) for t in scheduler_for(kind, base, steps).timesteps]
    return [round_metric(math.sqrt((1 - a) / a)) for a in levels]


def as_x_t(scheduler, x: torch.Tensor) -> torch.Tensor:
    """The state in the scale of x_t. Euler and Heun carry x_t / sqrt(alpha_bar) = x0 + sigma * eps;
    dividing by sqrt(sigma^2 + 1) gives x_t back (sigma of the state just reached)."""
    if not hasattr(scheduler, "sigmas") or isinstance(scheduler, DPMSolverMultistepScheduler):
        return x
    sigma = (
        float(scheduler.sigmas[scheduler.step_index])
        if scheduler.step_index is not None
        else float(scheduler.sigmas[0])
    )
    return x / math.sqrt(sigma**2 + 1)


def sample(denoise, scheduler, x_T: torch.Tensor, gens, on_state) -> torch.Tensor:
    """Any of the five samplers, diffusers' pipeline loop: scale the input, call the model, step.
    `on_state(k, x)` sees the start (k = 0) and the state after each whole step (Heun: after its
    second, corrector call)."""
    x = x_T * scheduler.init_noise_sigma
    on_state(0, x_T)
    k, last = 0, len(scheduler.timesteps) - 1
    for i, t in enumerate(scheduler.timesteps):
        model_input = scheduler.scale_model_input(x, t)
        t_batch = torch.full((x.shape[0],), float(t), device=x.device)
        output = denoise(model_input, t_batch)
        x = scheduler.step(
            output, t, x, **({"generator": gens} if isinstance(scheduler, DDPMScheduler) else {})
        ).prev_sample
        # Heun: a step ends after its corrector call, but its last step (to sigma = 0) is a lone Euler call
        if getattr(scheduler, "state_in_first_order", True) or i == last:
            k += 1
            on_state(k, as_x_t(scheduler, x))
    return x


def plan(cfg, model, max_batch: int, source: str) -> Plan:
    shape = (model.channels, model.sample_size, model.sample_size)
    kinds = [k for k in dict.fromkeys(cfg.samplers)]
    budgets = sorted(set(cfg.calls))

    def trajectory(kind: str, calls: int, seeds: list[int]) -> Unit:
        steps = steps_for(kind, calls)

        def compute(ctx, emit) -> None:
            scheduler = scheduler_for(kind, model.scheduler_config, steps)
            gens = generators(seeds)
            x = start_noise(shape, gens, model.device, torch.float32)
            metrics = lambda k: {"progress": k / steps, "calls": calls_of(kind, k) if k else 0}

            def on_state(k: int, state: torch.Tensor) -> None:
                for seed, frame in zip(seeds, images(state)):
                    emit(X, frame, metrics(k), sampler=kind, calls=calls, seed=seed, step=k)

            sample(ctx.denoise, scheduler, x, gens, on_state)

        return Unit(
            key=f"{kind}-c{calls}-seeds-" + "-".join(map(str, seeds)),
            calls=calls_of(kind, steps),
            images=calls_of(kind, steps) * len(seeds),
            frames=(steps + 1) * len(seeds),
            compute=compute,
            content={"sampler": kind, "calls": calls, "steps": steps, "seeds": seeds},
        )

    def reference(seeds: list[int]) -> Unit:
        """The converged image: the last state of DDIM's `reference`-step run, which step counts' run of
        that many steps (same seeds) shares through the trajectory store: computed once."""
        trajectory = sampling_trajectory(model, "ddim", cfg.reference, seeds)

        def compute(ctx, emit) -> None:
            for seed, frame in zip(seeds, ctx.trajectory(trajectory)["x"][cfg.reference]):
                emit(REF, frame, {"steps": cfg.reference}, seed=seed)

        return Unit(
            key="reference-seeds-" + "-".join(map(str, seeds)),
            calls=0,  # the trajectory's calls, counted once
            images=0,
            frames=len(seeds),
            compute=compute,
            content={"sampler": "ddim", "steps": cfg.reference, "seeds": seeds},
            trajectories=[trajectory],
        )

    def distances(ctx, emit) -> None:
        """|final - ref| and ||final - ref|| on the 8-bit images the figure shows."""
        for seed in cfg.seeds:
            ref = from_uint8(ctx.read_frame(REF, seed=seed)[None])[0]
            for kind in kinds:
                for calls in budgets:
                    final = ctx.read_frame(X, sampler=kind, calls=calls, seed=seed, step=steps_for(kind, calls))
                    heat, distance = heatmap(from_uint8(final[None])[0], ref, DIFF_SCALE)
                    emit(
                        DIFF,
                        heat,
                        {"distance_to_reference": distance, "model_calls": calls_of(kind, steps_for(kind, calls))},
                        sampler=kind,
                        calls=calls,
                        seed=seed,
                    )

    groups = pack(list(cfg.seeds), 1, max_batch)
    units = [reference(group) for group in groups]
    units += [trajectory(kind, calls, group) for kind in kinds for calls in budgets for group in groups]
    units.append(
        Unit(
            key="distances",
            images=0,
            compute=distances,
            reads_frames=True,
            frames=len(kinds) * len(budgets) * len(cfg.seeds),
            content={
                "samplers": kinds,
                "calls": budgets,
                "reference": cfg.reference,
                "seeds": list(cfg.seeds),
                "diff_scale": DIFF_SCALE,
            },
        )
    )
    sigmas = {k: {str(c): call_sigmas(k, model.scheduler_config, steps_for(k, c)) for c in budgets} for k in kinds}
    return Plan(
        units=units,
        describe={
            "samplers": kinds,
            "calls": budgets,
            "seeds": list(cfg.seeds),
            "call_sigmas": sigmas,  # the noise level of every model call's input
            "reference": cfg.reference,
            "diff_scale": DIFF_SCALE,
            "steps": {k: {str(c): steps_for(k, c) for c in budgets} for k in kinds},
            "panels": [X.name, REF.name, DIFF.name],
            "value_range": [-1, 1],
        },
    )
