"""Classifier-free guidance (Ho & Salimans 2022): one class-conditional network, a knob w.

For every class c, guidance scale w and seed s, the same start noise x_T of seed s is sampled with
DDIM, each step's prediction guided (generate/core/guidance.py):

    out_w(x_t, c) = out(x_t, no class) + w * (out(x_t, c) - out(x_t, no class))

    x      the image x_t after i of T steps, i = 0..T (i = T: the final image)
    x0     the clean-image estimate at step i (i = 0..T-1), from the guided prediction
The final image's metrics carry what the model's shipped classifier sees in it (judge.py): the class
it finds, its probability of the class asked for. The site measures the rest from the finals:
diversity across seeds and saturation (figure.py).

w = 0 is the unconditional model (the class is ignored), w = 1 the plain conditional one, w > 1
pushes past it, away from the unconditional prediction. Both branches go through the UNet in one
batched call per step. Runs only on a model with a class embedding (`num_class_embeds`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import UsageError
from ...paths import SCRIPTS, TEMPLATES
from ...toolkit.contract import FRACTION, INDEX, Experiment, Page, Panel, StateKey, setting


@dataclass
class GuidanceConfig:
    scheduler: str = setting(
        "ddim", choices=("ddim",), help="DDIM only: deterministic, so class and scale alone decide"
    )
    # 10, not 20: on fashion-cond-32 the classifier's verdict at every scale, the first guesses, where
    # the class stops getting clearer and the rise of full white are the same at 10 steps as at 20
    # (diversity about 7 % lower at every scale alike), at half the calls (issue 25's closing note)
    steps: int = setting(10, low=1, high=1000, help="DDIM steps")
    scales: list[float] = setting(
        [0.0, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0],
        low=0.0,
        high=100.0,
        help="guidance scales w: 0 = unconditional, 1 = conditional, more = pushed past it",
    )
    classes: list[int] = setting(
        [], low=0, high=100_000, allow_empty=True, help="class labels drawn; [] = every class of the model"
    )
    seeds: list[int] = setting(
        [0, 1, 2, 3], low=0, high=2**32 - 1, help="one start noise per seed, shared by every class and scale"
    )


def check_sorted(cfg: GuidanceConfig, src: str) -> None:
    """Config-only checks: scales and classes each listed once (the slider walks the scales in order)."""
    for key in ("scales", "classes", "seeds"):
        values = getattr(cfg, key)
        if len(set(values)) != len(values):
            raise UsageError(f"{src}: guidance.{key} = {values}: lists a value twice; list each once")
    if cfg.scales != sorted(cfg.scales):
        raise UsageError(f"{src}: guidance.scales = {cfg.scales}: must be in increasing order (the slider walks them)")


def cannot_run(model) -> str | None:
    """Why this model cannot be guided by class (None: it can)."""
    classes = getattr(getattr(model.unet, "config", None), "num_class_embeds", None)
    if not classes or int(classes) < 2:
        return (
            "it has no class embedding (num_class_embeds); guidance needs a class-conditional model "
            "such as fashion-cond-32"
        )
    return None


CELL = ("label", "scale", "seed")
X = Panel(
    "x", (*CELL, "step"), "c{label}/w{scale:g}/s{seed}/x/{step:04d}", "the image after `step` of T guided DDIM steps"
)
X0 = Panel("x0", (*CELL, "step"), "c{label}/w{scale:g}/s{seed}/x0/{step:04d}", "the clean-image estimate at that step")

from . import figure  # noqa: E402  (after the panels: the figure builder reads them)

GUIDANCE = Experiment(
    name="guidance",
    summary="classifier-free guidance: every class x guidance scale x seed, the trajectories side by side",
    config=GuidanceConfig,
    panels=(X, X0),
    plan="generate.experiments.guidance.compute:plan",
    figure=figure.build,
    facts=figure.facts,
    downloads=figure.downloads,
    validate=check_sorted,
    cannot_run=cannot_run,
    page=Page(
        file="guidance.md",
        title="Guidance",
        template=TEMPLATES / "guidance.md.j2",
        script=SCRIPTS / "fig-guidance.js",
        blurb="ask a class-conditional model for a class and turn the guidance knob: when does the "
        "class get clearer, and what is lost on the way?",
    ),
    state=(StateKey("progress", FRACTION), StateKey("scale", INDEX), StateKey("label", INDEX)),
    smoke={"steps": 3, "scales": [0.0, 3.0], "classes": [0, 1], "seeds": [0, 1]},
)
