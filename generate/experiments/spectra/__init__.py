"""Coarse to fine, measured: the power spectrum of every state of the reverse process.

For each seed s and sampling step i (timestep t_i), as on the reverse page but with DDIM (no fresh
noise, so every change comes from the model) and more seeds, each frame's metrics carry its radially
averaged power spectrum P(k), k = 1 .. side / 2 cycles per image (spectrum.py), measured on the float
state before it became a frame:

    x     x_t at step i (i = 0..T; x/T is the final image, the clean reference)
    eps   the predicted noise epsilon_theta(x_t, t); the noise inside x_t is sqrt(1 - alpha_bar) eps,
          whose spectrum is (1 - alpha_bar) P_eps(k)
    x0    the clean-image estimate, (x_t - sqrt(1 - alpha_bar) eps) / sqrt(alpha_bar)

Natural images have P(k) falling steeply with k; noise is flat. So at a noise level alpha_bar the
signal sqrt(alpha_bar) x_0 stands above the noise only where alpha_bar P_0(k) > 1 - alpha_bar: the
low frequencies first. The figure follows that boundary down the steps (figure.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...paths import SCRIPTS, TEMPLATES
from ...toolkit.contract import FRACTION, INDEX, Experiment, Page, Panel, StateKey, setting


@dataclass
class SpectraConfig:
    scheduler: str = setting("ddim", choices=("ddim", "ddpm"), help="sampler: ddim (deterministic) or ddpm")
    steps: int = setting(50, low=1, high=1000, help="sampling steps T")
    seeds: list[int] = setting(
        list(range(8)), low=0, high=2**32 - 1, help="one trajectory per seed; the chart averages their spectra"
    )


X = Panel(
    "x", ("seed", "step"), "s{seed}/x/{step:04d}", "x_t at step i (metrics: its spectrum); step T is the final image"
)
EPS = Panel("eps", ("seed", "step"), "s{seed}/eps/{step:04d}", "the predicted noise at step i (metrics: its spectrum)")
X0 = Panel(
    "x0", ("seed", "step"), "s{seed}/x0/{step:04d}", "the clean-image estimate at step i (metrics: its spectrum)"
)

from . import figure  # noqa: E402  (after the panels: the figure builder reads them)

SPECTRA = Experiment(
    name="spectra",
    summary="the power spectrum of x_t, the predicted noise and the x0 estimate at every reverse step",
    config=SpectraConfig,
    panels=(X, EPS, X0),
    plan="generate.experiments.spectra.compute:plan",
    figure=figure.build,
    facts=figure.facts,
    page=Page(
        file="spectra.md",
        title="Coarse to fine",
        template=TEMPLATES / "spectra.md.j2",
        script=SCRIPTS / "fig-spectra.js",
        blurb="the power spectrum of every step: noise drowns fine detail first, so the model "
        "draws large shapes first and fine detail last.",
    ),
    state=(
        StateKey("step", FRACTION),
        StateKey("seed", INDEX),
    ),
    smoke={"steps": 4, "seeds": [0, 1]},
)
