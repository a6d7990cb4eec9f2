"""Where trajectories go: many seeds' DDIM trajectories, projected on one plane.

For each seed s and sampling step i (timestep t_i):
    x     x_t at step i (i = 0..T: x_T is the start noise of seed s, step T the final image)
    x0    the clean-image estimate at step i (i = 0..T-1)
Every state is a point in a space of H x W x C dimensions. The figure fits one PCA (principal
component analysis) on all of them, the x_t and the x0 estimates of every seed and step together,
and draws them on its first two axes: the plane that keeps more of the points' spread than any other
(projection.py). The states are the frames as the page shows them (8-bit, the noisiest x_t clipped to
[-1, 1]), so what is projected is what the reader sees. Distances the page quotes are measured in the
full space, not on the plane: those about noise (between start noises, between x_t and its estimate)
on the float tensors at precompute time (compute.py), the others on the frames.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...paths import SCRIPTS, TEMPLATES
from ...toolkit.contract import FRACTION, INDEX, Experiment, Page, Panel, StateKey, setting


@dataclass
class TrajectoriesConfig:
    scheduler: str = setting("ddim", choices=("ddim", "ddpm"), help="sampler: ddim (deterministic) or ddpm")
    steps: int = setting(50, low=1, high=1000, help="sampling steps T")
    seeds: list[int] = setting(
        list(range(16)),
        low=0,
        high=2**32 - 1,
        help="one trajectory per seed, all on one chart (at least 2; 16 or more reads best)",
    )


X = Panel("x", ("seed", "step"), "s{seed}/x/{step:04d}", "x_t at step i; step T is the final image")
X0 = Panel("x0", ("seed", "step"), "s{seed}/x0/{step:04d}", "the clean-image estimate at step i")


def _validate(cfg: TrajectoriesConfig, source: str) -> None:
    from ...errors import UsageError

    if len(set(cfg.seeds)) < 2:
        raise UsageError(
            f"{source}: trajectories.seeds: give at least 2 different seeds (a projection of "
            "one trajectory shows nothing of where the others go); 16 or more reads best"
        )


from . import figure  # noqa: E402  (after the panels: the figure builder reads them)

TRAJECTORIES = Experiment(
    name="trajectories",
    summary="many seeds' x_t and x0-estimate trajectories on one PCA plane",
    config=TrajectoriesConfig,
    panels=(X, X0),
    plan="generate.experiments.trajectories.compute:plan",
    figure=figure.build,
    facts=figure.facts,
    validate=_validate,
    revision=1,  # 1: float distances about noise (the x0 frames' gap, the axes' start_noise)
    page=Page(
        file="trajectories.md",
        title="Where trajectories go",
        template=TEMPLATES / "trajectories.md.j2",
        script=SCRIPTS / "fig-trajectories.js",
        blurb="sixteen start noises on one map: the estimates start as one blurry average and "
        "fan out, each to its own picture.",
    ),
    state=(
        StateKey("step", FRACTION),
        StateKey("seed", INDEX),
    ),
    smoke={"steps": 4, "seeds": [0, 1, 2]},
)
