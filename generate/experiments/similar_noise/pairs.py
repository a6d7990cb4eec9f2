"""Shared by patch_noise and mix_noise: DDIM outputs of a noise n1 and of variants n2 of it.

DDIM with eta = 0 (Song et al. 2021, eq. 12) is deterministic: one start noise always gives the same
image, so any change in the output comes from the change in the noise. Per seed s:
    n1    the start noise of seed s (as DDIMPipeline draws it)            frame s{s}/n1
    o1    DDIM(n1)                                                         frame s{s}/o1
and per variant c of the grid:
    n2, o2 = DDIM(n2), heat_noise = |n1 - n2|, heat_out = |o1 - o2| (channel means, viridis)
    noise_distance = ||n1 - n2||_2, output_distance = ||o1 - o2||_2 (outputs in [-1, 1])
    x_gap[i] = ||x_t(n1) - x_t(n2)|| at step i (x_gap[0] = noise_distance, x_gap[T] = output_distance),
    x0_gap[i] = ||x0_hat(n1) - x0_hat(n2)|| at step i: how the two trajectories part (or not), step by step
The fresh noise n' of seed s is the generator's next draw after n1: g = torch.Generator().manual_seed(s);
n1 = randn(g); n' = randn(g). (Not manual_seed(s + 2**32): torch truncates seeds to 64 bits and
the Mersenne Twister to 32, so that would give n' = n1.)
"""

from __future__ import annotations

from typing import Callable

import torch

from ...core.measure import heatmap, images, rms
from ...core.sampling import generators, reverse_process, start_noise
from ...toolkit.contract import Panel
from ...toolkit.units import Unit, pack
from . import NOISE_HEAT_SCALE, OUTPUT_HEAT_SCALE

Variant = tuple[str, dict, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]  # name, coords, (n1, n') -> n2


def noise_and_fresh(seed: int, shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """n1 exactly as DDIMPipeline draws it for `seed`, then n' from the same generator."""
    gens = generators([seed])
    n1 = start_noise(shape, gens, torch.device("cpu"), torch.float32)[0]
    return n1, torch.randn((1, *shape), generator=gens[0])[0]


def units(cfg, model, max_batch: int, variants: list[Variant], panels: tuple[Panel, ...]) -> list[Unit]:
    n1_, o1_, n2_, o2_, heat_noise_, heat_out_ = panels
    shape = (model.channels, model.sample_size, model.sample_size)

    per_seed = 1 + len(variants)  # n1, then one n2 per variant

    def make(seeds: list[int]) -> Unit:
        def compute(ctx, emit) -> None:
            batch = []
            for seed in seeds:
                n1, fresh = noise_and_fresh(seed, shape)
                batch.append(n1)
                batch.extend(make_n2(n1, fresh) for _, _, make_n2 in variants)
            x = torch.stack(batch).to(model.device)
            scheduler = model.scheduler("ddim")
            scheduler.set_timesteps(cfg.steps)
            gaps: dict[str, list[torch.Tensor]] = {"x": [], "x0": []}

            def on_step(i, step) -> None:  # each variant's distance to its n1 trajectory: (seeds, variants)
                for key, batch in (("x", step.sample), ("x0", step.pred_original_sample)):
                    rows = batch.float().reshape(len(seeds), per_seed, -1)
                    gaps[key].append(torch.linalg.vector_norm(rows[:, 1:] - rows[:, :1], dim=2).cpu())

            out = reverse_process(ctx.denoise, scheduler, x, None, on_step).cpu().clamp(-1, 1)
            x_gaps, x0_gaps = torch.stack(gaps["x"], dim=2), torch.stack(gaps["x0"], dim=2)  # (seeds, variants, T)
            x = x.cpu()
            noise_frames, out_frames = images(x), images(out)  # one conversion per batch, not per cell
            for b, seed in enumerate(seeds):
                base = b * per_seed
                emit(n1_, noise_frames[base], {"rms": rms(x[base])}, seed=seed)
                emit(o1_, out_frames[base], {}, seed=seed)
                for v, (name, coords, _) in enumerate(variants, start=1):
                    n2, o2 = x[base + v], out[base + v]
                    heat_noise, noise_distance = heatmap(x[base], n2, NOISE_HEAT_SCALE)
                    heat_out, output_distance = heatmap(out[base], o2, OUTPUT_HEAT_SCALE)
                    metrics = {"noise_distance": noise_distance, "output_distance": output_distance, "n2_rms": rms(n2)}
                    # the trajectories' distances, once per cell (on the n2 frame): the last x_t is the output
                    trajectory = {
                        "x_gap": x_gaps[b, v - 1].tolist() + [output_distance],
                        "x0_gap": x0_gaps[b, v - 1].tolist(),
                    }
                    emit(n2_, noise_frames[base + v], dict(metrics, **trajectory), seed=seed, **coords)
                    emit(o2_, out_frames[base + v], metrics, seed=seed, **coords)
                    emit(heat_noise_, heat_noise, metrics, seed=seed, **coords)
                    emit(heat_out_, heat_out, metrics, seed=seed, **coords)

        return Unit(
            key="seeds-" + "-".join(map(str, seeds)),
            calls=cfg.steps,
            frames=(2 + 4 * len(variants)) * len(seeds),
            content={
                "seeds": seeds,
                "steps": cfg.steps,
                "variants": [name for name, _, _ in variants],
                "measures": ["x_gap", "x0_gap"],
            },
            images=cfg.steps * per_seed * len(seeds),
            compute=compute,
        )

    return [make(group) for group in pack(list(cfg.seeds), per_seed, max_batch)]


def describe(cfg) -> dict:
    return {
        "seeds": list(cfg.seeds),
        "steps": cfg.steps,
        "fresh_noise": "second draw of the seed's generator",
        "noise_heat_scale": NOISE_HEAT_SCALE,
        "output_heat_scale": OUTPUT_HEAT_SCALE,
        "value_range": [-1, 1],
    }
