"""Downloads written at build time (generate/site/downloads.py), without a browser: the size bound of
a trajectory GIF, names that survive a dot, and offers whose items must match their axes."""

from __future__ import annotations

import csv
from types import SimpleNamespace

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

from generate.site import downloads
from generate.toolkit.contract import Animation, Axis, Offer, Table


def _noise_frames(folder, count: int, size: int = 32) -> list[str]:
    """Uniform 8-bit noise: the least compressible frames a trajectory has (its first steps)."""
    rng = np.random.default_rng(0)
    names = []
    for i in range(count):
        name = f"f{i:04d}.png"
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(folder / name)
        names.append(name)
    return names


def test_a_50_step_32px_trajectory_gif_stays_under_1_mb(tmp_path):
    names = _noise_frames(tmp_path, 51)  # x_T .. x_0 of 50 steps, all of them pure colour noise: the worst case
    item = Animation("seed0_x_t", [[n] for n in names])
    done = downloads.encode_animation(
        tmp_path, item, downloads.scale_for(32), tmp_path / "fashion-32_reverse_seed0_x_t"
    )
    gif, mp4 = tmp_path / "fashion-32_reverse_seed0_x_t.gif", tmp_path / "fashion-32_reverse_seed0_x_t.mp4"
    assert done["gif"] == gif.stat().st_size < 2**20
    assert iio.imread(gif, index=None).shape[:3] == (51, 128, 128)
    assert iio.imread(mp4, plugin="FFMPEG", index=None).shape[:3] == (51, 128, 128)
    # nearest neighbour: each source pixel is a sharp 4 x 4 square (the GIF's palette keeps grey exactly
    # only for grey frames, so the first frame is compared through its blocks, not its values)
    first = iio.imread(gif, index=0)
    assert (first[::4, ::4] == first[3::4, 3::4]).all()


def test_names_keep_their_dots_and_tables_their_rows(tmp_path):
    run = SimpleNamespace(slug="emoji-32", experiment="mix_noise", folder=tmp_path)
    offers = [
        Offer(
            "the pairs",
            [Table(f"seed1_s{s:.2f}", ["scale", "d"], [[s, 2 * s]]) for s in (0.05, 0.5)],
            (Axis("scale", 2),),
        )
    ]
    data = downloads.write_downloads(
        run, offers, tmp_path / "out", "../downloads/emoji-32/mix_noise", 32, {"scale": "fraction"}
    )
    assert data["offers"][0]["names"] == ["emoji-32_mix_noise_seed1_s0.05", "emoji-32_mix_noise_seed1_s0.50"]
    with open(tmp_path / "out" / "emoji-32_mix_noise_seed1_s0.50.csv", newline="") as f:
        assert list(csv.reader(f)) == [["scale", "d"], ["0.5", "1.0"]]


def test_an_offer_needs_one_item_per_state(tmp_path):
    run = SimpleNamespace(slug="m", experiment="e", folder=tmp_path)
    offers = [Offer("per seed", [Table("seed0", ["a"], [[1]])], (Axis("seed", 2),))]
    with pytest.raises(ValueError, match="1 items for axes"):
        downloads.write_downloads(run, offers, tmp_path / "out", "x", 32, {"seed": "index"})


def test_an_offer_axis_must_be_a_declared_state_key(tmp_path):
    """A download menu picks its item by the figure's state: an axis the experiment does not declare
    (or declares as a value in its own units) could never be matched, so the build refuses it."""
    run = SimpleNamespace(slug="m", experiment="e", folder=tmp_path)
    offers = [Offer("per seed", [Table("seed0", ["a"], [[1]])], (Axis("seed", 1),))]
    for state in ({}, {"step": "fraction"}, {"seed": "value"}):
        with pytest.raises(ValueError, match="axis 'seed'.*declared state"):
            downloads.write_downloads(run, offers, tmp_path / "out", "x", 32, state)
