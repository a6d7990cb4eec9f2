"""A small experiment registered from outside the package: the worked example of ARCHITECTURE.md.

"one_guess": what the model guesses the clean image to be from pure noise x_T, if told the noise
level is t, for several t. One UNet call for the whole grid (seeds x timesteps in one batch).
Its own files: this declaration, compute.py (precompute, torch), figure.py (site), one_guess.md.j2
(page), fig-one-guess.js (figure script). Registered with `experiments.register(ONE_GUESS)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generate.toolkit.contract import FRACTION, Experiment, Page, Panel, StateKey, setting

HERE = Path(__file__).resolve().parent


@dataclass
class OneGuessConfig:
    scheduler: str = setting("ddim", choices=("ddim",), help="only its schedule is used (alpha_bar of each t)")
    timesteps: list[int] = setting([999, 700, 400, 100], low=0, high=999, help="noise levels t the model is told")
    seeds: list[int] = setting([0, 1], low=0, high=2**32 - 1, help="one pure-noise input per seed")


GUESS = Panel("guess", ("seed", "t"), "s{seed}/t{t:04d}", "the x0 estimate from the seed's pure noise, told level t")

from . import figure  # noqa: E402  (after the panels: the figure builder reads them)

ONE_GUESS = Experiment(
    name="one_guess",
    summary="one model call: the clean-image guess from pure noise at several noise levels t",
    config=OneGuessConfig,
    panels=(GUESS,),
    plan="toy_experiment.compute:plan",
    figure=figure.build,
    state=(StateKey("level", FRACTION),),
    page=Page(
        file="one-guess.md",
        title="One guess",
        template=HERE / "one_guess.md.j2",
        script=HERE / "fig-one-guess.js",
        blurb="what the model makes of pure noise when told how noisy it is.",
    ),
)
