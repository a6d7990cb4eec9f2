"""Guidance, the precompute side: one unit per guidance scale, every class and seed in one batch.

Per step the batch is every (class, seed) cell twice, conditional then "no class" (guidance.guided),
so a scale costs T calls of 2 x classes x seeds images, split by the denoiser where memory asks.
Two scales need less, and get it: w = 1 is the class branch alone, and w = 0 the "no class" branch
alone, the same for every class, so once per seed (its frames stand for every class).
After the last step the model's shipped classifier (judge.find_classifier) reads every final image:
the class it finds and its probability of the class asked for go into the final frame's metrics.
"""

from __future__ import annotations

import functools

import torch

from ...core.guidance import guided, no_class
from ...core.measure import images, rms_each
from ...core.sampling import alpha_bar, generators, reverse_process, start_noise
from ...errors import UsageError
from ...toolkit.units import Plan, Unit, round_metric
from ..forward_backward.judge import classify, find_classifier, load_classifier
from . import X0, X, cannot_run


def labels_of(cfg, model) -> list[int]:
    """The classes drawn: the section's, or every class of the model (its labels but "no class")."""
    null = no_class(model.unet)
    labels = list(cfg.classes) or list(range(null))
    for label in labels:
        if label >= null:
            raise UsageError(
                f"guidance.classes = {list(cfg.classes)}: class {label} is not one of {model.label}'s "
                f"{null} classes; allowed: 0 to {null - 1}"
            )
    return labels


def plan(cfg, model, max_batch: int, source: str) -> Plan:
    why = cannot_run(model)
    if why:
        raise UsageError(f"guidance cannot run on {model.label}: {why}")
    labels, null = labels_of(cfg, model), no_class(model.unet)
    cells = [(label, seed) for label in labels for seed in cfg.seeds]
    shape = (model.channels, model.sample_size, model.sample_size)
    judge = find_classifier(model.identity)
    if judge is not None and judge.class_names and len(judge.class_names) != null:
        judge = None  # a classifier of other classes cannot say whether the asked class came out
    names = judge.class_names if judge is not None and judge.class_names else [str(label) for label in range(null)]

    classifier = functools.cache(lambda: load_classifier(judge))  # read once, by the first unit computed

    def make(scale: float) -> Unit:
        # w = 0 ignores the label: each seed is sampled once, with the "no class" label, and its
        # frames stand for every class; w = 0 and w = 1 need one branch (guided), any other w both
        alone = scale == 0.0
        rows = list(cfg.seeds) if alone else [seed for _, seed in cells]  # the images sampled
        row_of = [cfg.seeds.index(seed) for _, seed in cells] if alone else list(range(len(cells)))
        branches = 1 if alone or scale == 1.0 else 2

        def compute(ctx, emit) -> None:
            scheduler = model.scheduler(cfg.scheduler)
            scheduler.set_timesteps(cfg.steps)
            x = start_noise(shape, generators(rows), model.device, torch.float32)
            asked = torch.tensor([null] * len(rows) if alone else [label for label, _ in cells])
            denoise = guided(ctx.denoise, asked, torch.full((len(rows),), float(scale)), null)
            net = classifier() if judge is not None else None

            def verdicts(frames) -> list[dict]:
                """What the classifier finds in each cell's frame: the class, and its probability of the asked one."""
                if net is None:
                    return [{} for _ in cells]
                seen = classify(net, frames)
                return [
                    {
                        "found": int(p.argmax()),
                        "probability": round_metric(p[label]),
                        "correct": float(p.argmax() == label),
                    }
                    for p, (label, _) in zip(seen, cells)
                ]

            def per_cell(batch: torch.Tensor) -> tuple:
                """The sampled rows as the grid's cells: frames and sizes."""
                frames, sizes = images(batch), rms_each(batch)
                return frames[row_of], [sizes[r] for r in row_of]

            def on_step(i, step) -> None:
                common = {"timestep": step.timestep, "alpha_bar": alpha_bar(scheduler, step.timestep)}
                for panel, batch in ((X, step.sample), (X0, step.pred_original_sample)):
                    frames, sizes = per_cell(batch)
                    # the x0 estimates are classified too: how early the class shows is a claim of the page
                    seen = verdicts(frames) if panel is X0 else [{} for _ in cells]
                    for (label, seed), frame, size, more in zip(cells, frames, sizes, seen):
                        emit(panel, frame, dict(common, rms=size, **more), label=label, scale=scale, seed=seed, step=i)

            finals, _ = per_cell(reverse_process(denoise, scheduler, x, None, on_step))
            for (label, seed), frame, more in zip(cells, finals, verdicts(finals)):
                emit(
                    X,
                    frame,
                    {"timestep": -1, "alpha_bar": 1.0, **more},
                    label=label,
                    scale=scale,
                    seed=seed,
                    step=cfg.steps,
                )

        return Unit(
            key=f"scale-{scale:g}",
            images=cfg.steps * branches * len(rows),
            calls=cfg.steps,
            frames=(2 * cfg.steps + 1) * len(cells),
            content={
                "scale": scale,
                "labels": labels,
                "seeds": list(cfg.seeds),
                "steps": cfg.steps,
                "scheduler": cfg.scheduler,
                "classifier_sha256": judge.sha256 if judge is not None else None,
            },
            compute=compute,
        )

    scheduler = model.scheduler(cfg.scheduler)
    scheduler.set_timesteps(cfg.steps)
    timesteps = [int(t) for t in scheduler.timesteps]
    return Plan(
        units=[make(float(scale)) for scale in cfg.scales],
        describe={
            "steps": cfg.steps,
            "timesteps": timesteps,
            "alpha_bar": [round_metric(alpha_bar(scheduler, t)) for t in timesteps],
            "scales": [float(s) for s in cfg.scales],
            "labels": labels,
            "class_names": [names[label] for label in labels],
            "seeds": list(cfg.seeds),
            "no_class": null,
            "classifier": judge.describe() if judge is not None else None,
            "value_range": [-1, 1],
        },
    )
