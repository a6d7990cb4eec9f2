"""Forward then backward, the precompute side: the whole triangle in one unit, batched by timestep;
then, for a model that ships a classifier or its training set, a "verdicts" unit that matches the
reconstructions to the original.

The whole triangle of T(T+1)/2 denoising steps is batched by shared timestep: at sampling step m
every row with level k <= m is at the same timestep t_m, so one UNet call serves them all; row m
joins the batch, freshly noised, just before step m.

The verdicts unit makes no model call: it reads the original and every reconstruction back from disk
(the 8-bit frames the page shows, as step counts' "diffs" does) and records what each matches next to
what the original matches (judge.py: a class of the model's classifier, or its nearest training
image). The site's facts add the distance bound.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ...atomic import dumps_json
from ...core.measure import heatmap, image, images
from ...core.sampling import alpha_bar, from_uint8, generators, reverse_process, start_noise, stream_seed
from ...errors import UsageError
from ...toolkit.units import Plan, Unit, round_metric
from . import DIFF, DIFF_SCALE, ORIGINAL, VERDICT, X
from .judge import find_judge, match


def load_source(path: Path, size: int, channels: int) -> torch.Tensor:
    """An author's image file as a (1, C, H, W) tensor in [-1, 1]; it must match the model exactly."""
    try:
        with Image.open(path) as pil:
            pil.load()
            mode, width, height = pil.mode, pil.width, pil.height
            array = np.asarray(pil)
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise UsageError(f"{path}: forward_backward.source is not a readable image ({error})") from None
    wanted = {1: "L", 3: "RGB"}[channels]
    if (width, height) != (size, size):
        raise UsageError(f"{path}: forward_backward.source is {width}x{height}; the model takes {size}x{size} images")
    if mode != wanted:
        raise UsageError(
            f"{path}: forward_backward.source has mode {mode}; the model takes {channels} "
            f"channel(s), allowed mode: {wanted}"
        )
    array = array[..., None] if array.ndim == 2 else array
    return from_uint8(array.copy()[None])


def plan(cfg, model, max_batch: int, source: str) -> Plan:
    steps = cfg.steps
    levels = sorted(set(cfg.start_levels)) or list(range(steps))
    shape = (model.channels, model.sample_size, model.sample_size)
    ddpm = cfg.scheduler == "ddpm"
    source_path = None
    if cfg.source != "generated":
        source_path = Path(cfg.source) if Path(cfg.source).is_absolute() else Path(source).parent / cfg.source
        load_source(source_path, model.sample_size, model.channels)  # refuse a bad image before any write

    def source_image(ctx, emit) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x0 (8-bit exact, on the device) and, for a generated source, the start noise it came from."""
        x_T = None
        if cfg.source == "generated":
            scheduler = model.scheduler(cfg.scheduler)
            scheduler.set_timesteps(steps)
            gens = generators([cfg.source_seed])
            x_T = start_noise(shape, gens, torch.device("cpu"), torch.float32)
            x = reverse_process(ctx.denoise, scheduler, x_T.to(model.device), gens if ddpm else None, lambda i, s: None)
        else:
            x = load_source(source_path, model.sample_size, model.channels).to(model.device)
        # The figure shows the 8-bit original, so the experiment starts from exactly those pixels.
        original = image(x[0])
        emit(ORIGINAL, original, {})
        return from_uint8(original[None]).to(model.device), x_T

    def forward_noise(x_T: torch.Tensor | None) -> torch.Tensor:
        """eps_k for every level k (row k); see the module notes on the two choices."""
        if cfg.noise == "source":
            return x_T.expand(steps, *shape).clone()
        return torch.randn(
            (steps, *shape),
            generator=torch.Generator().manual_seed(stream_seed("forward_backward.noise", cfg.noise_seed)),
        )

    def compute(ctx, emit) -> None:
        x0, x_T = source_image(ctx, emit)
        scheduler = model.scheduler(cfg.scheduler)
        scheduler.set_timesteps(steps)
        noise = forward_noise(x_T)
        rows: list[int] = []
        gens: list[torch.Generator] = []

        def inject(m: int, x: torch.Tensor) -> torch.Tensor:
            if m not in levels:
                return x
            t = scheduler.timesteps[m]
            noised = scheduler.add_noise(x0, noise[m : m + 1].to(x0.device), t.reshape(1))  # DDPM eq. 4
            a = alpha_bar(scheduler, int(t))
            emit(
                X,
                image(noised[0]),
                {"timestep": int(t), "alpha_bar": a, "distance": float(torch.linalg.vector_norm(noised - x0))},
                level=m,
                step=0,
            )
            rows.append(m)
            if ddpm:
                gens.append(torch.Generator().manual_seed(stream_seed(f"forward_backward.ddpm.{m}", cfg.noise_seed)))
            return torch.cat([x, noised])

        def on_step(m: int, step) -> None:
            next_t = int(scheduler.timesteps[m + 1]) if m + 1 < steps else -1
            frames = images(step.prev_sample)
            for b, level in enumerate(rows):
                done = m - level + 1
                emit(X, frames[b], {"timestep": next_t}, level=level, step=done)
                if m == steps - 1:
                    recon = from_uint8(frames[b : b + 1])[0]
                    heat, distance = heatmap(recon, x0[0].cpu(), DIFF_SCALE)
                    t0 = int(scheduler.timesteps[level])
                    emit(
                        DIFF,
                        heat,
                        {"distance": distance, "start_timestep": t0, "start_alpha_bar": alpha_bar(scheduler, t0)},
                        level=level,
                    )

        empty = torch.zeros((0, *shape), device=model.device)
        reverse_process(
            ctx.denoise, scheduler, empty, gens if ddpm else None, on_step, start_index=levels[0], inject=inject
        )

    judge = find_judge(model.identity)

    def verdicts(ctx, emit) -> None:
        """Per level: what the reconstruction matches (a class, or a training image) and what the
        original matches (judge.py); the site's facts add the distance bound."""
        frames = np.stack([ctx.read_frame(ORIGINAL)] + [ctx.read_frame(X, level=k, step=steps - k) for k in levels])
        original, *recons = match(judge, frames)
        names = judge.class_names
        for k, found in zip(levels, recons):
            same = found["match"] == original["match"]
            record = {"level": k, "method": judge.method, "reconstruction": found, "original": original}
            if judge.method == "classifier" and names:
                record.update(reconstruction_class=names[found["match"]], original_class=names[original["match"]])
            metrics = {"match": found["match"], "original_match": original["match"], "same_match": float(same)}
            metrics.update({key: found[key] for key in ("probability", "nearest_rms") if key in found})
            emit(VERDICT, dumps_json(record).encode("utf-8"), metrics, level=k)

    image_count = sum(steps - level for level in levels) + (steps if cfg.source == "generated" else 0)
    scheduler = model.scheduler(cfg.scheduler)
    scheduler.set_timesteps(steps)
    timesteps = [int(t) for t in scheduler.timesteps]
    content = dict(
        vars(cfg), source_sha256=hashlib.sha256(source_path.read_bytes()).hexdigest() if source_path else None
    )
    calls = steps - levels[0] + (steps if cfg.source == "generated" else 0)
    frames = 1 + sum(steps - level + 2 for level in levels)  # original; per level its row and its diff
    units = [Unit(key="triangle", images=image_count, compute=compute, content=content, calls=calls, frames=frames)]
    if judge is not None:
        units.append(
            Unit(
                key="verdicts",
                images=0,
                compute=verdicts,
                reads_frames=True,
                frames=len(levels),
                content={"triangle": content, "levels": levels, "judge": judge.method, "judge_sha256": judge.sha256},
            )
        )
    return Plan(
        units=units,
        describe={
            "steps": steps,
            "levels": levels,
            "timesteps": timesteps,
            "alpha_bar": [round_metric(alpha_bar(scheduler, t)) for t in timesteps],
            "diff_scale": DIFF_SCALE,
            "value_range": [-1, 1],
            "noise": cfg.noise,
            "judge": judge.describe() if judge else None,
        },
    )
