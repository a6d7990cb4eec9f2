"""Where trajectories go: the words of every model, and distances about noise on the float noise
(issue 23). The start noises are drawn again here as the precompute draws them (torch's CPU
generator, one per seed); "two unrelated samples" is the site's one value of it.

Run with NTI_DEFAULT_RUNS=DIR (the default runs) to skip the precompute."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from site_support import frame_file
from test_claims import MODELS, _as_signal, _render
from test_claims_spectra import _all_models, words_of

from generate.core.sampling import generators, start_noise
from generate.experiments.similar_noise.distance import typical_distance

pytestmark = pytest.mark.slow  # left out of `make test-fast`


def _start_noises(run) -> np.ndarray:
    """(S, D) float64: every seed's x_T exactly as the units drew it, pixel by pixel in the PNGs'
    order (height, width, channel)."""
    shape = _as_signal(run, run.manifest["frames"][0]["file"]).shape
    side, channels = shape[0], (shape[2] if len(shape) == 3 else 1)
    noise = start_noise(
        (channels, side, side), generators(run.manifest["axes"]["seeds"]), torch.device("cpu"), torch.float32
    )
    return noise.double().permute(0, 2, 3, 1).flatten(1).numpy()


def _mean_pair_distance(rows: np.ndarray) -> float:
    return float(np.mean([np.linalg.norm(a - b) for a, b in itertools.combinations(rows, 2)]))


@pytest.fixture(scope="module")
def page(chosen, facts):
    return _render("trajectories.md.j2", facts, _all_models(chosen))


@pytest.mark.parametrize("slug", MODELS)
def test_start_noises_are_measured_on_the_float_noise(chosen, facts, page, slug):
    """Today the page says the start noises lie 32.4 apart (fashion-32), measured on the clipped PNGs;
    the noises as drawn lie about sqrt(2 D) apart (45 for 1,024 values). The frames' first x_t is
    that noise clipped to [-1, 1] (the PNG, within 8-bit rounding), and its distances are a quarter
    smaller: the page must quote the float one."""
    run, tf = chosen[(slug, "trajectories")], facts[slug]["trajectories"]
    noises = _start_noises(run)
    floats = _mean_pair_distance(noises)
    assert np.isclose(tf["noise_spread"], floats, rtol=1e-5), (tf["noise_spread"], floats)
    assert tf["noise_dimensions"] == noises.shape[1]
    assert abs(floats / np.sqrt(2 * noises.shape[1]) - 1) < 0.05
    pngs = np.stack(
        [_as_signal(run, frame_file(run.manifest, "x", seed=s, step=0)).ravel() for s in run.manifest["axes"]["seeds"]]
    )
    assert np.abs(pngs - np.clip(noises, -1, 1)).max() <= 1 / 255 + 1e-6  # the frame is the clipped noise
    assert _mean_pair_distance(pngs) < 0.85 * floats
    words = words_of(page, slug)
    assert f"{floats:.1f} on average between two of them ({slug})" in words
    assert f"{_mean_pair_distance(pngs):.1f}" not in words


@pytest.mark.parametrize("slug", MODELS)
def test_x_t_meets_its_estimate_measured_on_the_floats(chosen, facts, page, slug):
    """The distance between x_t and its estimate at step 1, on the float start noise and the estimate
    (its PNG, within the 8-bit rounding and clipping of an estimate that stays near [-1, 1])."""
    run, tf = chosen[(slug, "trajectories")], facts[slug]["trajectories"]
    noises = _start_noises(run)
    seeds = run.manifest["axes"]["seeds"]
    estimates = np.stack([_as_signal(run, frame_file(run.manifest, "x0", seed=s, step=0)).ravel() for s in seeds])
    recomputed = float(np.mean(np.linalg.norm(noises - estimates, axis=1)))
    assert np.isclose(tf["gap"][0], recomputed, rtol=0.02), (tf["gap"], recomputed)
    assert tf["meet"] and tf["gap"][1] <= 0.1 * tf["gap"][0]
    words = words_of(page, slug)
    assert f"{tf['gap'][0]:.1f} from its estimate at step 1 and {tf['gap'][1]:.1f} at the last step" in words


@pytest.mark.parametrize("slug", MODELS)
def test_two_unrelated_samples_is_the_sites_one_value(chosen, facts, page, slug):
    """Today this page quotes its own 16 finals' spread (22.4 on fashion-32) where every other page
    quotes the mix run's (20.9): one definition, typical_distance, and the estimates' first
    spread is judged against it."""
    tf = facts[slug]["trajectories"]
    typical = typical_distance(chosen[(slug, "mix_noise")])
    assert typical is not None and tf["typical"] == typical
    assert tf["together_at_start"] and tf["x0_start_spread"] < 0.5 * typical
    words = words_of(page, slug)
    assert f"against {typical:.1f} between two unrelated samples" in words
    if f"{tf['final_spread']:.1f}" != f"{typical:.1f}":
        assert f"{tf['final_spread']:.1f}" not in page


@pytest.mark.parametrize("slug", MODELS)
def test_each_model_has_its_own_words(facts, page, slug):
    """Today's steps quote the first model's numbers ("from step 5"; emoji-32: 8) whatever the menu shows."""
    tf, words = facts[slug]["trajectories"], words_of(page, slug)
    assert f"**{tf['seeds']} starts.**" in words
    assert f"From step {tf['commit'] + 1} of {tf['steps']} on, all {tf['seeds']} do" in words
    first = tf["own_count"][0]
    assert f"at step 1, {first} of the {tf['seeds']} estimates" in words and first <= 2  # about chance: 1
    assert f"this plane keeps {round(tf['plane_share'] * 100)} %" in words
    assert f"| {slug} ({tf['seeds']} seeds" in page
