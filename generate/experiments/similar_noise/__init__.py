"""Similar noise (notebook 3): under DDIM, does a similar start noise give a similar picture?

Two experiments, a lesson page each, one figure script:
    patch_noise   n2 = n1 except one square patch, which takes fresh noise n' (sizes x positions)
    mix_noise     n2 = sqrt(1 - s^2) n1 + s n'   (s in [0, 1]; a valid unit-variance noise for every s)
Per seed, both store n1 and o1 = DDIM(n1), and per variant of the grid n2, o2 = DDIM(n2) and the
heatmaps |n1 - n2| and |o1 - o2| with their Euclidean distances (see pairs.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ...errors import UsageError
from ...paths import SCRIPTS, TEMPLATES
from ...toolkit.contract import FRACTION, INDEX, TOGGLE, Experiment, Page, Panel, StateKey, resolve_length, setting

NOISE_HEAT_SCALE = 2.0  # bright at a mean |n1 - n2| of 2 (two standard deviations)
OUTPUT_HEAT_SCALE = 1.0  # bright at a mean |o1 - o2| of 1 (half the value range)
PATCH_VARIANT = "p{size}-{x}-{y}"  # a patch variant's folder under its seed
MIX_VARIANT = "mix{scale:.4f}"


@dataclass
class PatchNoiseConfig:
    scheduler: str = setting("ddim", choices=("ddim",), help="DDIM only: deterministic, so noise alone decides")
    # 25, not 50: the lesson is the map from start noise to picture, which DDIM has settled by 25
    # steps (see the closing note of issue 25); half the calls of the two largest grids.
    steps: int = setting(25, low=1, high=1000, help="DDIM steps")
    # Four seeds: each is 28 DDIM trajectories (n1 and 27 patched copies), 42 % of a default
    # precompute's images at eight; four give 36 pairs per size and 72 for "larger moves further".
    seeds: list[int] = setting(list(range(4)), low=0, high=2**32 - 1, help="one n1 (and n') per seed")
    sizes: list[float] = setting(
        [0.125, 0.25, 0.5],
        low=1,
        high=4096,
        relative=True,
        help="patch sides: fractions of the image side (0.125) or pixels (4)",
    )
    positions: list[list[float]] = setting(
        [[x, y] for y in (0.0, 0.25, 0.5) for x in (0.0, 0.25, 0.5)],
        low=0,
        high=4096,
        relative=True,
        help="[x, y] of the patch's top-left corner: fractions of the side or pixels",
    )


def in_pixels(cfg: PatchNoiseConfig, image_size: int) -> PatchNoiseConfig:
    """Sizes and positions in pixels for this image size: 0.125 of 32 px is 4 px, of 256 px 32 px."""
    return replace(
        cfg,
        sizes=[resolve_length(s, image_size) for s in cfg.sizes],
        positions=[[resolve_length(c, image_size) for c in p] for p in cfg.positions],
    )


@dataclass
class MixNoiseConfig:
    scheduler: str = setting("ddim", choices=("ddim",), help="DDIM only: deterministic, so noise alone decides")
    # 25, not 50: the lesson is the map from start noise to picture, which DDIM has settled by 25
    # steps (see the closing note of issue 25); half the calls of the two largest grids.
    steps: int = setting(25, low=1, high=1000, help="DDIM steps")
    seeds: list[int] = setting(list(range(8)), low=0, high=2**32 - 1, help="one n1 (and n') per seed")
    scales: list[float] = setting(
        [0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
        low=0.0,
        high=1.0,
        help="mix weights s of the fresh noise",
    )


def check_patches(cfg: PatchNoiseConfig, src: str, image_size: int) -> None:
    """On the section in pixels (in_pixels): every patch inside the image, none of zero size."""
    for size in cfg.sizes:
        if size < 1:
            raise UsageError(
                f"{src}: patch_noise.sizes: a patch of {size} px on a {image_size}x{image_size} "
                "image; give a larger fraction of the side or whole pixels"
            )
    for size in cfg.sizes:
        for x, y in cfg.positions:
            if x + size > image_size or y + size > image_size:
                raise UsageError(
                    f"{src}: patch_noise: a patch of size {size} at position [{x}, {y}] lies outside the "
                    f"{image_size}x{image_size} image; x + size and y + size must be at most {image_size}"
                )


def pair_panels(variant: str, coords: tuple[str, ...]) -> tuple[Panel, ...]:
    """n1 and o1 per seed; n2, o2 and the two heatmaps per seed and variant."""
    cell = ("seed", *coords)
    return (
        Panel("n1", ("seed",), "s{seed}/n1", "the start noise n1 of the seed"),
        Panel("o1", ("seed",), "s{seed}/o1", "DDIM(n1)"),
        Panel("n2", cell, f"s{{seed}}/{variant}/n2", "the changed noise n2"),
        Panel("o2", cell, f"s{{seed}}/{variant}/o2", "DDIM(n2)"),
        Panel("heat_noise", cell, f"s{{seed}}/{variant}/heat_noise", "|n1 - n2|, viridis", heat_scale=NOISE_HEAT_SCALE),
        Panel("heat_out", cell, f"s{{seed}}/{variant}/heat_out", "|o1 - o2|, viridis", heat_scale=OUTPUT_HEAT_SCALE),
    )


PATCH_PANELS = pair_panels(PATCH_VARIANT, ("size", "x", "y"))
MIX_PANELS = pair_panels(MIX_VARIANT, ("scale",))

from . import figure  # noqa: E402  (after the panels: the figure builder reads them)

# Two lessons, one figure script: first a patch of the noise, then a mix of all of it (whose chart
# also shows the patch pairs, so the two kinds of change meet at equal noise distance).
PATCH_PAGE = Page(
    file="similar-noise-patch.md",
    title="Similar noise: patch",
    template=TEMPLATES / "similar_noise_patch.md.j2",
    script=SCRIPTS / "fig-similar-noise.js",
    blurb="with the deterministic DDIM sampler, replace one square of the start noise: how far "
    "does the picture move, and where?",
)
MIX_PAGE = Page(
    file="similar-noise-mix.md",
    title="Similar noise: mix",
    template=TEMPLATES / "similar_noise_mix.md.j2",
    script=SCRIPTS / "fig-similar-noise.js",
    blurb="mix fresh noise into the whole start noise, a little or a lot: when does DDIM give another picture?",
)

PATCH_NOISE = Experiment(
    name="patch_noise",
    summary="similar noise: one square patch of the start noise replaced (sizes x positions)",
    config=PatchNoiseConfig,
    panels=PATCH_PANELS,
    plan="generate.experiments.similar_noise.patch:plan",
    figure=figure.build_patch,
    facts=figure.patch_facts,
    downloads=figure.downloads_patch,
    check_model=check_patches,
    resolve=in_pixels,
    page=PATCH_PAGE,
    revision=1,
    state=(StateKey("size", FRACTION), StateKey("position", INDEX), StateKey("seed", INDEX), StateKey("flip", TOGGLE)),
    smoke={"steps": 3, "seeds": [0], "sizes": [4, 8], "positions": [[0, 0], [8, 8]]},
)  # 1: the trajectories' distances per step (x_gap, x0_gap) in the manifest

MIX_NOISE = Experiment(
    name="mix_noise",
    summary="similar noise: the start noise mixed with fresh noise, n2 = sqrt(1-s^2) n1 + s n'",
    config=MixNoiseConfig,
    panels=MIX_PANELS,
    plan="generate.experiments.similar_noise.mix:plan",
    figure=figure.build_mix,
    facts=figure.mix_facts,
    downloads=figure.downloads_mix,
    page=MIX_PAGE,
    revision=1,
    state=(StateKey("scale", FRACTION), StateKey("seed", INDEX), StateKey("flip", TOGGLE)),
    smoke={"steps": 3, "seeds": [0], "scales": [0.0, 0.5, 1.0]},
)  # 1: as patch_noise
