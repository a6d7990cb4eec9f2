"""Samplers compared: the same start noise through DDIM, DPM-Solver++ (2M), Euler, Heun and DDPM.

Every sampler is diffusers' own scheduler, built from the model's scheduler config with two changes
that make the comparison fair: timesteps "trailing" (every sampler starts at the last training step,
pure noise, whatever its step count) and no clipping of the x0 estimate (clipping would bend DDIM's
path off the ODE the others solve). Budgets are in model calls, the cost that matters: Heun calls
the model twice per step, so B calls give it (B + 1) // 2 steps (2n - 1 calls).

    x      the sampler's image after step k of its n steps (k = 0: the start noise), in the
           variance-preserving scale of x_t (Euler and Heun work on x / sqrt(alpha_bar); shown
           divided by sqrt(sigma^2 + 1), which is the same x_t)
    ref    the converged image: DDIM with `reference` steps (1000) from the same noise
    diff   |final - ref| (channel mean, viridis, bright at DIFF_SCALE), with distance_to_reference =
           ||final - ref||_2 on the 8-bit images the figure shows
    sigma  sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t), the noise level of a model call's input
           in the units of Euler and Heun (x / sqrt(alpha_bar) = x0 + sigma * eps): axes.call_sigmas
           lists it for every call of every sampler and budget
"""

from __future__ import annotations

from dataclasses import dataclass

from ...paths import SCRIPTS, TEMPLATES
from ...toolkit.contract import FRACTION, INDEX, Experiment, Page, Panel, StateKey, setting

DIFF_SCALE = 0.5
KINDS = ("ddim", "dpmpp_2m", "euler", "heun", "ddpm")
NAMES = {"ddim": "DDIM", "dpmpp_2m": "DPM-Solver++ (2M)", "euler": "Euler", "heun": "Heun", "ddpm": "DDPM"}
ORDER = {"ddim": 1, "dpmpp_2m": 2, "euler": 1, "heun": 2, "ddpm": 1}  # order of the ODE solver (DDPM: an SDE)
DETERMINISTIC = ("ddim", "dpmpp_2m", "euler", "heun")


@dataclass
class SamplersConfig:
    samplers: list[str] = setting(list(KINDS), choices=KINDS, help="diffusers schedulers compared")
    calls: list[int] = setting([5, 10, 20, 50, 100], low=2, high=1000, help="model-call budgets")
    reference: int = setting(1000, low=2, high=1000, help="DDIM steps of the converged image")
    seeds: list[int] = setting([0, 1, 2, 3], low=0, high=2**32 - 1, help="one start noise per seed")


X = Panel(
    "x",
    ("sampler", "calls", "seed", "step"),
    "{sampler}/c{calls}/s{seed}/{step:04d}",
    "the sampler's image after `step` of its steps at a budget of `calls` model calls",
)
REF = Panel("ref", ("seed",), "reference/s{seed}", "the converged image: DDIM with `reference` steps")
DIFF = Panel(
    "diff",
    ("sampler", "calls", "seed"),
    "{sampler}/c{calls}/s{seed}/diff",
    "|final - ref|, viridis",
    heat_scale=DIFF_SCALE,
)

from . import figure  # noqa: E402  (after the panels: the figure builder reads them)

SAMPLERS = Experiment(
    name="samplers",
    summary="DDIM, DPM-Solver++, Euler, Heun and DDPM from the same noise at several model-call budgets",
    config=SamplersConfig,
    panels=(X, REF, DIFF),
    plan="generate.experiments.samplers.compute:plan",
    figure=figure.build,
    facts=figure.facts,
    revision=1,  # 1: the noise level of every model call in the manifest (axes.call_sigmas)
    page=Page(
        file="samplers.md",
        title="Samplers",
        template=TEMPLATES / "samplers.md.j2",
        script=SCRIPTS / "fig-samplers.js",
        blurb="five samplers, one start noise: which reach the converged picture in the fewest "
        "network calls, and what holds the slowest back?",
    ),
    state=(
        StateKey("progress", FRACTION),
        StateKey("seed", INDEX),
        StateKey("budget", INDEX),
    ),
    smoke={"calls": [2, 4], "reference": 8, "seeds": [0, 1]},
)
