"""Lengths in the image given relative to its side: the same config fits 28, 32, 64 and 256 px."""

from __future__ import annotations

import re
from dataclasses import asdict

import pytest

from generate.errors import UsageError
from generate.precompute.config import load_config, section_for_model

PIXELS = """version = 1
[patch_noise]
sizes = [4, 8, 16]
positions = [[0, 0], [8, 0], [16, 0], [0, 8], [8, 8], [16, 8], [0, 16], [8, 16], [16, 16]]
"""
RELATIVE = """version = 1
[patch_noise]
sizes = [0.125, 0.25, 0.5]
positions = [[0.0, 0.0], [0.25, 0.0], [0.5, 0.0], [0.0, 0.25], [0.25, 0.25], [0.5, 0.25],
             [0.0, 0.5], [0.25, 0.5], [0.5, 0.5]]
"""


def _config(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(str(path))


def test_at_32_px_the_relative_grid_is_the_pixel_grid(tmp_path):
    """Same pixel cells, so the same section in the run key and the manifest: the same run."""
    relative = section_for_model(_config(tmp_path, RELATIVE), "patch_noise", 32)
    pixels = section_for_model(_config(tmp_path, PIXELS), "patch_noise", 32)
    assert asdict(relative) == asdict(pixels)
    assert all(isinstance(v, int) for v in relative.sizes + [c for p in relative.positions for c in p])


@pytest.mark.parametrize(
    "side, sizes, corners",
    [(28, [4, 7, 14], [0, 7, 14]), (64, [8, 16, 32], [0, 16, 32]), (256, [32, 64, 128], [0, 64, 128])],
)
def test_the_relative_grid_scales_with_the_image(tmp_path, side, sizes, corners):
    section = section_for_model(_config(tmp_path, RELATIVE), "patch_noise", side)
    assert section.sizes == sizes
    assert section.positions == [[x, y] for y in corners for x in corners]
    # and every patch of the grid lies inside the image at every size
    assert max(sizes) + max(corners) <= side


def test_the_default_config_uses_the_relative_form(tmp_path):
    section = load_config("default").experiment("patch_noise")
    assert all(isinstance(s, float) for s in section.sizes)
    assert section_for_model(load_config("default"), "patch_noise", 32).sizes == [4, 8, 16]


@pytest.mark.parametrize(
    "line, message",
    [
        (
            "sizes = [0.5, 1.5]",
            "patch_noise.sizes = [0.5, 1.5]: 1.5 is out of range; a fraction of the image side must be above 0 to 1",
        ),
        ("sizes = [0.0]", "patch_noise.sizes = [0.0]: 0.0 is out of range"),
        ("sizes = [0]", "patch_noise.sizes = [0]: 0 is out of range; allowed: 1 to 4096 pixels"),
        ('sizes = ["big"]', 'patch_noise.sizes = ["big"]: must be a list of pixel counts (integers) or fractions'),
        ("positions = [[0.5]]", "patch_noise.positions = [[0.5]]: must be a list of [x, y] pairs of pixel counts"),
        (
            "positions = [[0.5, 1.25]]",
            "patch_noise.positions = [[0.5, 1.25]]: 1.25 is out of range; a fraction of the image side must be 0 to 1",
        ),
    ],
)
def test_bad_lengths_are_named(tmp_path, line, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        _config(tmp_path, f"version = 1\n[patch_noise]\n{line}\n")


def test_a_fraction_too_small_for_the_image_is_refused_with_the_model(tmp_path):
    from generate.precompute.config import check_against_model

    config = _config(tmp_path, "version = 1\n[patch_noise]\nsizes = [0.01]\npositions = [[0.0, 0.0]]\n")
    with pytest.raises(UsageError, match="patch_noise.sizes: a patch of 0 px on a 32x32 image"):
        check_against_model(config, "patch_noise", 32, 1000)
    check_against_model(config, "patch_noise", 256, 1000)  # 2.56 -> 3 px: fine at 256


def test_out_of_image_relative_patches_keep_their_error(tmp_path):
    from generate.precompute.config import check_against_model

    config = _config(tmp_path, "version = 1\n[patch_noise]\nsizes = [0.5]\npositions = [[0.75, 0.0]]\n")
    with pytest.raises(UsageError, match=r"a patch of size 16 at position \[24, 0\] lies outside the 32x32 image"):
        check_against_model(config, "patch_noise", 32, 1000)
