"""Noise schedules, the precompute side: one unit. Generate the clean sources (DDIM), noise each
under both schedules with one eps per source, then one batched network call on every (schedule,
source, level) cell, each at its own timestep (the denoiser takes a timestep per image).

The curves and the thresholds the page quotes (where SNR crosses 0 dB and -20 dB, how many of the
steps lie below -20 dB) are closed form: they go into the manifest's axes, computed here, where
diffusers is at hand (the site imports no torch).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from diffusers import DDPMScheduler

from ...core.measure import images
from ...core.sampling import from_uint8, generators, reverse_process, start_noise, stream_seed
from ...toolkit.units import Plan, Unit, round_metric
from . import BETA_SCHEDULES, CURVE_STRIDE, LINEAR_BETAS, NAMES, NOISED, SOURCE, X0_EPS, X0_V

THRESHOLDS_DB = (0.0, -20.0)


def schedule(kind: str, steps: int) -> DDPMScheduler:
    """diffusers' scheduler with this beta schedule; only its alphas_cumprod (alpha_bar) is used."""
    return DDPMScheduler(
        num_train_timesteps=steps, beta_schedule=kind, beta_start=LINEAR_BETAS[0], beta_end=LINEAR_BETAS[1]
    )


def alpha_bars(kind: str, steps: int) -> list[float]:
    return [float(a) for a in schedule(kind, steps).alphas_cumprod]


def snr_db(ab: float) -> float:
    return 10 * math.log10(ab / (1 - ab))


def nearest_step(ab: float, model_ab: list[float]) -> int:
    """The model's timestep whose log SNR is nearest: the network is conditioned on the noise level
    (its own timestep), so a linear-schedule x_t is shown to it at the step of the same level."""
    want = snr_db(ab)
    return min(range(len(model_ab)), key=lambda t: abs(snr_db(model_ab[t]) - want))


def thresholds(ab: list[float]) -> dict:
    """First t with SNR below each threshold, and how many steps lie below -20 dB (near-pure noise)."""
    db = [snr_db(a) for a in ab]
    first = {str(int(th)): next((t for t, d in enumerate(db) if d < th), None) for th in THRESHOLDS_DB}
    return {"first_below_db": first, "steps_below_minus_20_db": sum(d < -20 for d in db), "steps": len(ab)}


def plan(cfg, model, max_batch: int, source: str) -> Plan:
    shape = (model.channels, model.sample_size, model.sample_size)
    steps = int(model.scheduler_config.get("num_train_timesteps", 1000))
    levels = sorted(set(cfg.levels))
    seeds = list(dict.fromkeys(cfg.source_seeds))
    prediction = str(model.scheduler_config.get("prediction_type", "epsilon"))
    curves = {kind: alpha_bars(kind, steps) for kind in BETA_SCHEDULES}
    model_ab = [float(a) for a in model.scheduler("ddim").alphas_cumprod]
    cells = [(kind, seed, t) for kind in BETA_SCHEDULES for seed in seeds for t in levels]

    def make_sources(ctx, emit) -> None:
        # 1. the clean sources: DDIM from each seed's start noise (as forward_backward's generated source)
        sampler = model.scheduler("ddim")
        sampler.set_timesteps(cfg.source_steps)
        x_T = start_noise(shape, generators(seeds), torch.device("cpu"), torch.float32).to(model.device)
        final = reverse_process(ctx.denoise, sampler, x_T, None, lambda i, s: None)
        for seed, frame in zip(seeds, images(final)):
            emit(SOURCE, frame, {}, source=seed)

    def compute(ctx, emit) -> None:
        # the 8-bit sources the page shows, read back, are the x0 of every cell
        x0 = from_uint8(np.stack([ctx.read_frame(SOURCE, source=seed) for seed in seeds]))
        # one eps per source, its own stream (never the start noise of any seed)
        eps = torch.stack(
            [
                torch.randn(
                    shape,
                    generator=torch.Generator().manual_seed(stream_seed(f"schedules.noise.s{seed}", cfg.noise_seed)),
                )
                for seed in seeds
            ]
        )

        # 2. x_t = sqrt(ab) x0 + sqrt(1 - ab) eps (DDPM eq. 4, diffusers' add_noise), every cell
        index = {seed: i for i, seed in enumerate(seeds)}
        rows = torch.tensor([index[seed] for _, seed, _ in cells])
        clean, noise = x0[rows], eps[rows]
        pieces = []  # cells are schedule-major, so the pieces concatenate in cell order
        for kind in BETA_SCHEDULES:
            mine = [i for i, cell in enumerate(cells) if cell[0] == kind]
            pieces.append(
                schedule(kind, steps).add_noise(clean[mine], noise[mine], torch.tensor([cells[i][2] for i in mine]))
            )
        x_t = torch.cat(pieces)

        # 3. one batched call, each cell at the model's step of its noise level
        ab = torch.tensor([curves[kind][t] for kind, _, t in cells], dtype=torch.float64)
        t_model = [nearest_step(float(a), model_ab) for a in ab]
        output = ctx.denoise(x_t.to(model.device), torch.tensor(t_model, device=model.device)).cpu().double()
        sa, sb = ab.sqrt().view(-1, 1, 1, 1), (1 - ab).sqrt().view(-1, 1, 1, 1)
        x0d, epsd, xtd = clean.double(), noise.double(), x_t.double()
        v_true = sa * epsd - sb * x0d
        if prediction == "v_prediction":
            delta = output - v_true
        elif prediction == "epsilon":
            delta = output - epsd
        else:  # "sample": the error of its v, derived from its x0 (neither panel is then its own target)
            delta = (sa * (xtd - sa * output) / sb - sb * output) - v_true
        estimates = {X0_V: (x0d - sb * delta, sb), X0_EPS: (x0d - delta * sb / sa, sb / sa)}

        # 4. frames and metrics; rms_error on the floats, rms_shown on the 8-bit frames (clipped to [-1, 1])
        noised = images(x_t)
        delta_rms = delta.pow(2).flatten(1).mean(1).sqrt()
        for i, (kind, seed, t) in enumerate(cells):
            a = float(ab[i])
            emit(
                NOISED,
                noised[i],
                {"alpha_bar": a, "snr_db": snr_db(a), "t_model": t_model[i], "alpha_bar_model": model_ab[t_model[i]]},
                schedule=kind,
                source=seed,
                t=t,
            )
        for panel, (estimate, factor) in estimates.items():
            shown = images(estimate.float())
            error = (estimate - x0d).pow(2).flatten(1).mean(1).sqrt()
            error_shown = (from_uint8(shown).double() - x0d).pow(2).flatten(1).mean(1).sqrt()
            for i, (kind, seed, t) in enumerate(cells):
                emit(
                    panel,
                    shown[i],
                    {
                        "rms_error": float(error[i]),
                        "rms_shown": float(error_shown[i]),
                        "amplification": float(factor.flatten()[i]),
                        "delta_rms": float(delta_rms[i]),
                    },
                    schedule=kind,
                    source=seed,
                    t=t,
                )

    stride = list(range(0, steps, CURVE_STRIDE)) + ([steps - 1] if (steps - 1) % CURVE_STRIDE else [])
    describe = {
        "schedules": list(BETA_SCHEDULES),
        "names": dict(NAMES),
        "levels": levels,
        "sources": seeds,
        "source_steps": cfg.source_steps,
        "steps": steps,
        "prediction": prediction,
        "measured_panel": {"v_prediction": X0_V.name, "epsilon": X0_EPS.name}.get(prediction),
        "model_schedule": str(model.scheduler_config.get("beta_schedule", "linear")),
        "linear_betas": list(LINEAR_BETAS),
        "curves": {
            "t": stride,
            "alpha_bar": {k: [round_metric(curves[k][t]) for t in stride] for k in BETA_SCHEDULES},
            "snr_db": {k: [round_metric(snr_db(curves[k][t])) for t in stride] for k in BETA_SCHEDULES},
        },
        "at_levels": {
            k: {
                "alpha_bar": [round_metric(curves[k][t]) for t in levels],
                "snr_db": [round_metric(snr_db(curves[k][t])) for t in levels],
            }
            for k in BETA_SCHEDULES
        },
        "thresholds": {k: thresholds(curves[k]) for k in BETA_SCHEDULES},
        "panels": [SOURCE.name, NOISED.name, X0_V.name, X0_EPS.name],
        "value_range": [-1, 1],
    }
    content = dict(vars(cfg), levels=levels, source_seeds=seeds)
    # Two units, each with batches of one size (what the cost estimate assumes): the sources, T calls of
    # one image per source; then the cells, one call of them all, after the sources are on disk.
    sources = Unit(
        key="sources",
        calls=cfg.source_steps,
        images=cfg.source_steps * len(seeds),
        frames=len(seeds),
        compute=make_sources,
        content={k: content[k] for k in ("source_seeds", "source_steps", "scheduler")},
    )
    noised = Unit(
        key="cells",
        calls=1,
        images=len(cells),
        frames=3 * len(cells),
        compute=compute,
        content=content,
        reads_frames=True,
    )
    return Plan(units=[sources, noised], describe=describe)
