"""Forward then backward (notebook 2): noise an image to any level, then denoise it from there.

Notation: x0 the source image, t_k the k-th sampling timestep (k = 0 is the noisiest), eps_k fresh
noise for start level k. Forward in closed form (DDPM eq. 4):
    x_{t_k} = sqrt(alpha_bar_{t_k}) x0 + sqrt(1 - alpha_bar_{t_k}) eps_k        panel x, step 0
then the reverse process from step k to the end, j = 1..T-k steps:             panel x, step j
and per level the reconstruction (the last frame), |reconstruction - x0| and its distance; then, for a
model that ships a classifier, per level the class it gives the reconstruction next to the original's
(panel verdict, judge.py): half of "is it the same picture?", the other half being the distance.

The forward noise. `noise = "independent"` (default): eps_k is row k of randn((T, C, H, W)) from the
generator `manual_seed(stream_seed("forward_backward.noise", noise_seed))`, a stream that coincides
with no seed's start noise. (A plain `manual_seed(noise_seed)` with noise_seed = source_seed makes
eps_0 the very x_T the source was sampled from, and DDIM then retraces its own path back to the
source: the noisiest reconstruction would look perfect for the wrong reason.) `noise = "source"`
shows exactly that on purpose: every level is noised with the source's own start noise x_T (DDIM
inverts its own trajectory); it needs source = "generated".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...errors import UsageError
from ...paths import SCRIPTS, TEMPLATES
from ...toolkit.contract import FRACTION, Experiment, Page, Panel, StateKey, setting

DIFF_SCALE = 1.0  # heatmap of |reconstruction - original|: bright at a mean difference of 1 (of 2)


@dataclass
class ForwardBackwardConfig:
    scheduler: str = setting("ddim", choices=("ddpm", "ddim"), help="sampler of the backward part")
    steps: int = setting(50, low=1, high=1000, help="sampling steps T; the levels are its timesteps")
    source: str = setting("generated", help="'generated' (a sample of the model) or an image file")
    source_seed: int = setting(0, low=0, high=2**32 - 1, help="seed of the generated source")
    noise_seed: int = setting(0, low=0, high=2**32 - 1, help="seed of the forward noise stream")
    noise: str = setting(
        "independent",
        choices=("independent", "source"),
        help="forward noise: 'independent' (its own stream) or 'source' (the source's start noise)",
    )
    start_levels: list[int] = setting(
        [], low=0, high=999, allow_empty=True, help="indices into the sampling steps; [] = all"
    )


def validate(cfg: ForwardBackwardConfig, src: str) -> None:
    if cfg.noise == "source" and cfg.source != "generated":
        raise UsageError(
            f'{src}: forward_backward.noise = "source" reuses the start noise of the generated '
            f'source image, but source = "{cfg.source}"; allowed with an image file: "independent"'
        )
    for level in cfg.start_levels:
        if level >= cfg.steps:
            raise UsageError(
                f"{src}: forward_backward.start_levels contains {level}: a start level is an "
                f"index into the {cfg.steps} sampling steps; allowed: 0 to {cfg.steps - 1}"
            )


def check_model(cfg: ForwardBackwardConfig, src: str, image_size: int) -> None:
    if cfg.source == "generated":
        return
    source = Path(cfg.source)
    if not source.is_absolute():
        source = Path(src).parent / source
    if not source.is_file():
        raise UsageError(
            f"{src}: forward_backward.source = {cfg.source!r}: file not found; "
            "allowed: 'generated' or the path of an image file"
        )


ORIGINAL = Panel("original", (), "original", "the source image x0 (8-bit), where every level starts")
X = Panel(
    "x",
    ("level", "step"),
    "L{level:04d}/{step:04d}",
    "level k after `step` denoising steps; step 0 is x0 noised to t_k",
    tagged=False,
)
DIFF = Panel("diff", ("level",), "L{level:04d}/diff", "|reconstruction - original|, viridis", heat_scale=DIFF_SCALE)
VERDICT = Panel(
    "verdict",
    ("level",),
    "L{level:04d}/verdict",
    "the model's classifier on the reconstruction and the original: classes and probabilities (JSON)",
    suffix="json",
)

from . import figure  # noqa: E402  (after the panels: the figure builder reads them)

FORWARD_BACKWARD = Experiment(
    name="forward_backward",
    summary="forward then backward: an image noised to each level, then denoised from there",
    config=ForwardBackwardConfig,
    panels=(ORIGINAL, X, DIFF, VERDICT),
    plan="generate.experiments.forward_backward.compute:plan",
    figure=figure.build,
    facts=figure.facts,
    downloads=figure.downloads,
    # 1: the forward noise has its own stream (was manual_seed(noise_seed), the source's own x_T);
    # 2: a "verdicts" unit classifies every reconstruction (the triangle's frames are reused as they are)
    revision=2,
    validate=validate,
    check_model=check_model,
    page=Page(
        file="forward-backward.md",
        title="Forward and backward",
        template=TEMPLATES / "forward_backward.md.j2",
        script=SCRIPTS / "fig-forward-backward.js",
        blurb="add noise to a finished image, then denoise it back. How much noise must you add "
        "before the result is a different picture?",
    ),
    state=(
        StateKey("level", FRACTION),
        StateKey("step", FRACTION),
    ),
    smoke={"steps": 6},
)
