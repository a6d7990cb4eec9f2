"""Number of sampling steps compared (notebook 1, second part): fewer steps are faster, more are better.

The same start noise x_T of seed s is sampled with each step count n (DDIM by default, so the only
difference between trajectories is the step count). Every state is kept:
    x      the image after i of n steps, i = 0..n; progress i / n aligns trajectories of different n
    x0     the clean-image estimate at step i (i = 0..n-1)
    diff   |final_n - final_N| against the final of the largest count N (channel mean, viridis,
           bright at DIFF_SCALE), with distance_to_reference = ||final_n - final_N||_2 on the 8-bit finals
    leading       the final of each count in `leading`, sampled with leading spacing (diffusers' default:
                  n steps start at t = T - T/n, not at T - 1), to show what that start does
    leading_diff  |leading final - reference final|, with its distance_to_reference
Every other run starts at t = T - 1 (generate/spacing.py). Each count costs n model calls; the
seconds each count took are in run.json ("seconds_by_part").
"""

from __future__ import annotations

from dataclasses import dataclass

from ...paths import SCRIPTS, TEMPLATES
from ...toolkit.contract import FRACTION, INDEX, Experiment, Page, Panel, StateKey, setting

DIFF_SCALE = 0.5  # heatmap of |final - reference|: bright at a mean difference of 0.5 (a quarter of the range)


@dataclass
class StepCountsConfig:
    scheduler: str = setting("ddim", choices=("ddpm", "ddim"), help="sampler of every trajectory")
    steps: list[int] = setting(
        [2, 5, 10, 50, 1000], low=1, high=1000, help="step counts compared; the largest is the reference"
    )
    seeds: list[int] = setting([0, 1, 2, 3], low=0, high=2**32 - 1, help="one start noise per seed")
    leading: list[int] = setting(
        [2, 5, 10, 50],
        low=1,
        high=1000,
        allow_empty=True,
        help="step counts also run with diffusers' default 'leading' spacing, which "
        "starts n steps at t = T - T/n (900 for 10) from pure noise",
    )


X = Panel("x", ("steps", "seed", "step"), "n{steps}/s{seed}/x/{step:04d}", "the image after `step` of `steps` steps")
X0 = Panel("x0", ("steps", "seed", "step"), "n{steps}/s{seed}/x0/{step:04d}", "the clean-image estimate at that step")
DIFF = Panel(
    "diff", ("steps", "seed"), "n{steps}/s{seed}/diff", "|final - reference final|, viridis", heat_scale=DIFF_SCALE
)
LEADING = Panel(
    "leading",
    ("steps", "seed"),
    "n{steps}/s{seed}/leading",
    "the final image of `steps` steps with leading spacing (metrics: its first timestep and alpha_bar)",
)
LEADING_DIFF = Panel(
    "leading_diff",
    ("steps", "seed"),
    "n{steps}/s{seed}/leading_diff",
    "|leading final - reference final|, viridis",
    heat_scale=DIFF_SCALE,
)

from . import figure  # noqa: E402  (after the panels: the figure builder reads them)

STEP_COUNTS = Experiment(
    name="step_counts",
    summary="the number of sampling steps compared from the same noise (e.g. DDIM 2 to 1000)",
    config=StepCountsConfig,
    panels=(X, X0, DIFF, LEADING, LEADING_DIFF),
    plan="generate.experiments.step_counts.compute:plan",
    figure=figure.build,
    facts=figure.facts,
    downloads=figure.downloads,
    revision=1,  # 1: adds the "diffs" unit (differences to the reference final)
    page=Page(
        file="step-counts.md",
        title="Number of steps",
        template=TEMPLATES / "step_counts.md.j2",
        script=SCRIPTS / "fig-step-counts.js",
        blurb="fewer steps cost fewer network calls; how far from the 1000-step picture does each shortcut land?",
    ),
    state=(
        StateKey("progress", FRACTION),
        StateKey("seed", INDEX),
    ),
    smoke={"steps": [2, 5], "seeds": [0], "leading": [2]},
)
