"""Reverse process step by step (notebook 1): what goes into the denoiser and what comes out.

For each seed s and sampling step i (timestep t_i), with x_T the start noise of seed s:
    x     the input image x_t at step i (i = 0..T; x/T is the final image, the last step's output)
    eps   the predicted noise epsilon_theta(x_t, t)          (i = 0..T-1)
    x0    the clean-image estimate ("image minus noise")      (i = 0..T-1)
DDPM (Algorithm 2) by default: it adds fresh noise at each step, drawn from the seed's generator.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...paths import SCRIPTS, TEMPLATES
from ...toolkit.contract import FRACTION, INDEX, Experiment, Page, Panel, StateKey, setting

SCHEDULERS = ("ddpm", "ddim")


@dataclass
class ReverseConfig:
    scheduler: str = setting("ddpm", choices=SCHEDULERS, help="sampler: ddpm (adds fresh noise each step) or ddim")
    steps: int = setting(50, low=1, high=1000, help="sampling steps T")
    seeds: list[int] = setting([0, 1, 2, 3], low=0, high=2**32 - 1, help="one trajectory per seed (its start noise)")


X = Panel("x", ("seed", "step"), "s{seed}/x/{step:04d}", "the input x_t at step i; step T is the final image")
EPS = Panel("eps", ("seed", "step"), "s{seed}/eps/{step:04d}", "the predicted noise at step i")
X0 = Panel("x0", ("seed", "step"), "s{seed}/x0/{step:04d}", "the clean-image estimate at step i")

from . import figure  # noqa: E402  (after the panels: the figure builder reads them)

REVERSE = Experiment(
    name="reverse",
    summary="the reverse process step by step: x_t, predicted noise, x0 estimate, next x_t",
    config=ReverseConfig,
    panels=(X, EPS, X0),
    plan="generate.experiments.reverse.compute:plan",
    figure=figure.build,
    facts=figure.facts,
    downloads=figure.downloads,
    page=Page(
        file="reverse.md",
        title="The reverse process",
        template=TEMPLATES / "reverse.md.j2",
        script=SCRIPTS / "fig-reverse.js",
        blurb="what goes into the denoiser, what comes out, and how the scheduler turns that guess "
        "into a slightly cleaner image.",
    ),
    state=(
        StateKey("step", FRACTION),
        StateKey("seed", INDEX),
    ),
    smoke={"steps": 4, "seeds": [0, 1]},
)
