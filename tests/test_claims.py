"""The words are tested against the data: every claim a lesson makes about its figure holds on the
default runs (the default config on both shipped models, as `make site` makes them), and each check
fails on a run that breaks its claim.

The default precompute runs once per session (a few minutes); NTI_DEFAULT_RUNS=DIR reuses a runs
folder made by `make precompute`.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import statistics
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from site_support import default_runs, frame_file

from generate import experiments
from generate.experiments.similar_noise.distance import typical_distance
from generate.precompute.config import load_config
from generate.site import claims
from generate.site.build import page_context
from generate.site.pages import environment
from generate.site.runs import latest_runs
from generate.toolkit.runs import Run

pytestmark = pytest.mark.slow  # left out of `make test-fast`


REPO = Path(__file__).resolve().parents[1]
MODELS = load_config("default").models


def _copy_run(run: Run, **manifest_changes) -> Run:
    manifest = copy.deepcopy(run.manifest)
    manifest.update(manifest_changes)
    return dataclasses.replace(run, manifest=manifest)


# -- forward and backward ------------------------------------------------------------------------


def _as_signal(run: Run, file: str) -> np.ndarray:
    with Image.open(run.folder / file) as image:
        return np.asarray(image, dtype=np.float64) / 127.5 - 1.0


@pytest.mark.parametrize("slug", MODELS)
def test_the_level_of_a_different_picture_is_read_off_the_frames(chosen, facts, slug):
    """The page's answer to "how much noise makes a different picture": the distances recomputed from
    the frame files, the cleanest level judged different (tests/test_claims_forward_backward.py
    recomputes the verdicts themselves) and the page's sentence about it."""
    run, fb = chosen[(slug, "forward_backward")], facts[slug]["forward_backward"]
    steps = int(run.manifest["axes"]["steps"])
    original = _as_signal(run, frame_file(run.manifest, "original"))
    distances = [
        float(np.linalg.norm(_as_signal(run, frame_file(run.manifest, "x", level=k, step=steps - k)) - original))
        for k in fb["levels"]
    ]
    assert np.allclose(distances, [p["distance"] for p in fb["curve"]], rtol=1e-4), slug
    same = [p["same"] for p in fb["curve"]]
    first = max(i for i, s in enumerate(same) if s is False)  # the cleanest level that is different
    assert fb["tipping"]["level"] == fb["levels"][first] and all(same[first + 1 :])
    assert fb["tipping"]["different_from_here"] == sum(s is False for s in same[: first + 1])
    text = _render("forward_backward.md.j2", facts, _figures(chosen, slug))
    assert f"the cleanest start that gives a different picture is level **{first + 1}** of {steps}" in text
    # its ᾱ to three decimals, as the figure's level slider words it (frames.js fmt): one number, one way
    assert f"(ᾱ = {fb['tipping']['alpha_bar']:.3f}, t = " in text
    # a flip on its own is said to be one, with the next different level (read off the verdicts)
    alone = first > 0 and same[first - 1] is True
    assert (f"Level {first + 1} stands alone" in text) == alone, slug
    if alone and False in same[: first - 1]:
        following = max(i for i, s in enumerate(same[: first - 1]) if s is False)
        assert f"the next different one is level **{following + 1}**" in text
    assert text.count('<svg class="nti-chart nti-fb-chart"') == 1  # one chart per model with a run


@pytest.mark.parametrize("slug", MODELS)
def test_from_the_noisiest_level_the_reconstruction_is_a_new_image(facts, slug):
    fb = facts[slug]["forward_backward"]
    assert fb["noise"] == "independent"
    # judged not the same picture: another class or nearest training image, or beyond the distance bound
    assert fb["noisiest_point"]["same"] is False and fb["noisiest_is_new"], fb["noisiest_point"]


@pytest.mark.parametrize("slug", MODELS)
def test_from_the_cleanest_level_the_reconstruction_is_almost_the_original(facts, slug):
    fb = facts[slug]["forward_backward"]
    assert fb["cleanest"] <= 0.1 * fb["typical"], fb
    assert fb["cleanest_is_close"]


def test_the_new_image_claim_fails_when_the_forward_noise_is_the_sources_own(tmp_path):
    """The bug this guards against: forward noise equal to the start noise the source was made from.
    Same small grid twice on the default model, the claim holds with independent noise, fails with it."""
    results = {}
    for noise in ("independent", "source"):
        config = tmp_path / f"{noise}.toml"
        config.write_text(
            f'version = 1\nmodels = ["{MODELS[0]}"]\nexperiments = ["forward_backward", "mix_noise"]\n'
            f'[forward_backward]\nsteps = 10\nstart_levels = [0, 9]\nnoise = "{noise}"\n'
            "[mix_noise]\nsteps = 10\nseeds = [0, 1, 2, 3]\nscales = [0.0, 1.0]\n"
        )
        from generate.precompute import precompute

        runs = tmp_path / f"runs-{noise}"
        precompute(load_config(str(config)), runs, progress=False, log=lambda *_: None)
        chosen = latest_runs(runs)
        results[noise] = experiments.get("forward_backward").facts(
            chosen[(MODELS[0], "forward_backward")], {"mix_noise": chosen[(MODELS[0], "mix_noise")]}
        )
    assert results["independent"]["noisiest_is_new"], results["independent"]
    assert not results["source"]["noisiest_is_new"], results["source"]
    assert results["source"]["noisiest"] < 0.25 * results["source"]["typical"]  # DDIM retraced its own path


# -- number of steps -----------------------------------------------------------------------------


@pytest.mark.parametrize("slug", MODELS)
def test_fewer_steps_land_further_from_the_reference(facts, slug):
    sc = facts[slug]["step_counts"]
    means = [row["mean"] for row in sc["rows"][:-1]]
    assert means == sorted(means, reverse=True), sc["rows"]
    assert sc["fewer_is_worse"]
    assert sc["seeds"] >= 2  # more than one seed, so no single seed's luck decides


@pytest.mark.parametrize("slug", MODELS)
def test_the_fewest_steps_give_a_visibly_other_picture(facts, slug):
    sc = facts[slug]["step_counts"]
    assert sc["rows"][0]["mean"] >= 0.25 * sc["typical"], sc
    assert sc["fewest_visibly_different"]


def test_the_steps_claim_fails_when_more_steps_land_further(chosen):
    run = chosen[(MODELS[0], "step_counts")]
    counts = sorted(run.manifest["axes"]["steps"])
    frames = copy.deepcopy(run.manifest["frames"])
    for frame in frames:  # make the fewest steps look as good as the most careful count but one
        if frame["coords"].get("panel") == "diff" and frame["coords"]["steps"] == counts[0]:
            frame["metrics"]["distance_to_reference"] = 0.0
    assert not experiments.get("step_counts").facts(_copy_run(run, frames=frames), {})["fewer_is_worse"]


@pytest.mark.parametrize("slug", MODELS)
def test_step_counts_quote_the_median_per_call_not_a_total(chosen, facts, slug):
    """A count's cost is its calls times one call: the page quotes the run's median per call (run.json,
    over every timed call), never a total that a loaded machine would make look super-linear."""
    run, sc = chosen[(slug, "step_counts")], facts[slug]["step_counts"]
    assert all(row["calls"] == row["steps"] for row in sc["rows"])
    timing = run.record["seconds_per_call"]
    assert timing["calls"] == run.record["model_calls"] > 0 and 0 < timing["p10"] <= timing["median"] <= timing["p90"]
    assert sc["per_call"]["median"] == timing["median"]
    text = _render("step_counts.md.j2", facts, _figures(chosen, slug))
    assert f"One call took a median {round(timing['median'] * 1000)} ms" in text
    assert " s against " not in text and "604.6" not in text  # no totals side by side


@pytest.mark.parametrize("slug", MODELS)
def test_every_sampler_starts_at_the_last_training_timestep(chosen, facts, slug):
    """Fair step counts: every run of every lesson hands pure noise to the model at t = T - 1 (trailing
    spacing), and no sampler clips its x0 estimate; today's main started 10 DDIM steps at t = 900."""
    for (model, name), run in chosen.items():
        if model != slug or name == "live":
            continue
        config = run.manifest["scheduler"]["config"]
        assert config["timestep_spacing"] == "trailing" and config["clip_sample"] is False, name
    last = int(chosen[(slug, "reverse")].manifest["scheduler"]["config"]["num_train_timesteps"]) - 1
    assert chosen[(slug, "reverse")].manifest["axes"]["timesteps"][0] == last
    sc = facts[slug]["step_counts"]
    assert [row["timestep"] for row in sc["rows"]] == [last] * len(sc["rows"])
    live = chosen[(slug, "live")].manifest["axes"]["scheduler_config"]
    assert live["timestep_spacing"] == "trailing" and live["clip_sample"] is False  # live mode too


@pytest.mark.parametrize("slug", MODELS)
def test_a_late_start_is_shown_and_costs_what_the_page_says(chosen, facts, slug):
    """The step-count page shows diffusers' default on purpose: leading spacing starts n steps at
    T - T/n (900 for 10 steps); the page's numbers are those of the leading finals, recomputed here
    from the frames, and the late start lands further from the reference than the fair one."""
    run, sc = chosen[(slug, "step_counts")], facts[slug]["step_counts"]
    reference = sc["reference"]
    by_steps = {r["steps"]: r for r in sc["leading"]}
    assert by_steps[10]["timestep"] == 900 and by_steps[10]["alpha_bar"] < 0.05
    for row in sc["leading"]:
        recomputed = [
            float(
                np.linalg.norm(
                    _as_signal(run, frame_file(run.manifest, "leading", steps=row["steps"], seed=s))
                    - _as_signal(run, frame_file(run.manifest, "x", steps=reference, seed=s, step=reference))
                )
            )
            for s in run.manifest["axes"]["seeds"]
        ]
        assert np.allclose(recomputed, row["distances"], rtol=1e-4), row
    worst = sc["worst_leading"]
    assert worst["mean"] > worst["trailing_mean"], sc["leading"]
    text = _render("step_counts.md.j2", facts, _figures(chosen, slug))
    for row in sc["leading"]:  # every count's pair, in both models' words alike
        assert f"{row['steps']} steps {row['mean']:.1f} against {row['trailing_mean']:.1f}" in text, row
    assert f"The late start does most harm at {worst['steps']} steps." in text
    assert "Lin et al. (2023" in text


def test_the_words_follow_the_model_menu(chosen, facts):
    """Every model's numbers are in the page, each in its own block for the menu to show: the step
    text of one model is not the other's."""
    figures = _figures(chosen, MODELS[0])
    for (slug, experiment), run in chosen.items():
        if slug != MODELS[0]:
            figures[experiment].append(
                dict(figures[experiment][0], slug=slug, label=slug)
                if figures[experiment]
                else {"slug": slug, "label": slug}
            )
    text = _render("step_counts.md.j2", facts, figures)
    blocks = {
        slug: [b for b in text.split('<div class="nti-per-model" data-model="')[1:] if b.startswith(f'{slug}"')]
        for slug in MODELS
    }
    for slug in MODELS:
        worst = facts[slug]["step_counts"]["worst_leading"]
        assert any(f"{worst['steps']} steps {worst['mean']:.1f} against" in b for b in blocks[slug]), slug
    assert blocks[MODELS[0]] != blocks[MODELS[1]]
    assert " hidden markdown>" in text  # the other model's words wait hidden until the menu picks it


# -- samplers ------------------------------------------------------------------------------------


def _picture(run: Run, file: str) -> np.ndarray:
    with Image.open(run.folder / file) as image:
        return np.asarray(image, dtype=np.float64) / 127.5


@pytest.mark.parametrize("slug", MODELS)
def test_sampler_distances_are_recomputed_from_the_frames(chosen, facts, slug):
    """Every number of the samplers page: each final PNG against the converged PNG, recomputed here."""
    run, sf = chosen[(slug, "samplers")], facts[slug]["samplers"]
    axes = run.manifest["axes"]
    for row in sf["samplers"]:
        for entry in row["rows"]:
            n = axes["steps"][row["kind"]][str(entry["budget"])]
            recomputed = [
                float(
                    np.linalg.norm(
                        _picture(
                            run,
                            frame_file(
                                run.manifest, "x", sampler=row["kind"], calls=entry["budget"], seed=seed, step=n
                            ),
                        )
                        - _picture(run, frame_file(run.manifest, "ref", seed=seed))
                    )
                )
                for seed in axes["seeds"]
            ]
            assert np.allclose(recomputed, entry["distances"], rtol=1e-4, atol=1e-4), (row["kind"], entry)
            assert entry["calls"] == (2 * n - 1 if row["kind"] == "heun" else n) <= entry["budget"]


@pytest.mark.parametrize("slug", MODELS)
def test_deterministic_samplers_meet_and_second_order_gets_there_sooner(facts, slug):
    sf = facts[slug]["samplers"]
    assert {"ddim", "dpmpp_2m", "euler"} <= set(sf["converged"]), sf["converged"]
    assert sf["second_order_everywhere"], sf["second_order"]
    assert sf["euler_is_ddim"]
    assert sf["seeds"] >= 2


@pytest.mark.parametrize("slug", MODELS)
def test_ddpm_lands_elsewhere_at_every_budget(facts, slug):
    sf = facts[slug]["samplers"]
    ddpm = next(row for row in sf["samplers"] if row["kind"] == "ddpm")
    assert all(entry["mean"] >= 0.5 * sf["typical"] for entry in ddpm["rows"]), ddpm
    assert sf["ddpm_elsewhere_mean"]  # in the mean; final by final: test_claims_samplers.py


def test_the_second_order_claim_fails_when_dpm_solver_is_no_closer(chosen):
    run = chosen[(MODELS[0], "samplers")]
    frames = copy.deepcopy(run.manifest["frames"])
    ddim = {
        (f["coords"]["calls"], f["coords"]["seed"]): f["metrics"]["distance_to_reference"]
        for f in frames
        if f["coords"].get("panel") == "diff" and f["coords"]["sampler"] == "ddim"
    }
    for frame in frames:  # DPM-Solver++ exactly as far as DDIM: no longer closer
        if frame["coords"].get("panel") == "diff" and frame["coords"]["sampler"] == "dpmpp_2m":
            frame["metrics"]["distance_to_reference"] = ddim[(frame["coords"]["calls"], frame["coords"]["seed"])]
    broken = experiments.get("samplers").facts(_copy_run(run, frames=frames), {})
    assert not broken["second_order_everywhere"] and not any(broken["second_order"].values())


# -- noise schedules -----------------------------------------------------------------------------


def _schedule_ab(kind: str) -> np.ndarray:
    from diffusers import DDPMScheduler

    return (
        DDPMScheduler(num_train_timesteps=1000, beta_schedule=kind, beta_start=1e-4, beta_end=0.02)
        .alphas_cumprod.double()
        .numpy()
    )


@pytest.mark.parametrize("slug", MODELS)
def test_schedule_curves_and_thresholds_are_diffusers_closed_form(chosen, facts, slug):
    """The curves, the 0 dB / -20 dB crossings and the steps below -20 dB, recomputed from diffusers."""
    run, sf = chosen[(slug, "schedules")], facts[slug]["schedules"]
    curves = run.manifest["axes"]["curves"]
    for kind, row in (("linear", sf["linear"]), ("squaredcos_cap_v2", sf["cosine"])):
        ab = _schedule_ab(kind)
        db = 10 * np.log10(ab / (1 - ab))
        assert np.allclose(curves["alpha_bar"][kind], ab[curves["t"]], rtol=1e-5, atol=1e-12)
        assert np.allclose(curves["snr_db"][kind], db[curves["t"]], rtol=1e-4, atol=1e-4)
        assert row["t_0db"] == int(np.argmax(db < 0)) and row["t_minus_20db"] == int(np.argmax(db < -20))
        assert row["below_minus_20db"] == int((db < -20).sum())
        assert np.isclose(row["alpha_bar_last"], ab[-1], rtol=1e-5)
    scheduler = run.manifest["scheduler"]["config"]
    assert scheduler["beta_schedule"] == "squaredcos_cap_v2" and scheduler["prediction_type"] == "v_prediction"
    assert sf["model_is_cosine_v"] and sf["model_schedule"] == "cosine"


@pytest.mark.parametrize("slug", MODELS)
def test_noised_frames_are_one_noise_draw_under_both_schedules(chosen, slug):
    """From the PNGs: (x_t - sqrt(ab) x0) / sqrt(1 - ab) is the same eps under linear and cosine, at
    every level (where neither frame is clipped, within the 8-bit rounding), and it is unit noise."""
    run = chosen[(slug, "schedules")]
    axes, m = run.manifest["axes"], run.manifest
    lin, cos = _schedule_ab("linear"), _schedule_ab("squaredcos_cap_v2")
    for source in axes["sources"]:
        x0 = _as_signal(run, frame_file(m, "source", source=source))
        for t in axes["levels"]:
            if t < 100:
                continue  # 1 - ab is tiny there: the rounding of x_t is divided by almost nothing
            x = {
                k: _as_signal(run, frame_file(m, "noised", schedule=k, source=source, t=t))
                for k in ("linear", "squaredcos_cap_v2")
            }
            eps = {
                k: (x[k] - np.sqrt(ab[t]) * x0) / np.sqrt(1 - ab[t])
                for k, ab in (("linear", lin), ("squaredcos_cap_v2", cos))
            }
            inside = (np.abs(x["linear"]) < 0.999) & (np.abs(x["squaredcos_cap_v2"]) < 0.999)
            tolerance = (1 / 255 + 1e-6) * (1 / np.sqrt(1 - lin[t]) + 1 / np.sqrt(1 - cos[t]))
            assert inside.mean() > 0.3, (source, t)
            assert np.abs(eps["linear"] - eps["squaredcos_cap_v2"])[inside].max() <= tolerance, (source, t)
        top = axes["levels"][-1]
        noise = _as_signal(run, frame_file(m, "noised", schedule="squaredcos_cap_v2", source=source, t=top))
        assert 0.6 < noise.std() < 1.0  # unit noise, clipped to [-1, 1] (the std of a clipped N(0, 1) is 0.8)


@pytest.mark.parametrize("slug", MODELS)
def test_estimate_errors_are_recomputed_from_the_frames(chosen, facts, slug):
    """Each estimate's RMS error on the PNGs (clipped to [-1, 1]) is recomputed here; the float error is
    at least that (clipping towards x0 only shrinks it); and where the eps estimate is not clipped, its
    error is the v estimate's divided by sqrt(ab), pixel by pixel, as the page says."""
    run, sf = chosen[(slug, "schedules")], facts[slug]["schedules"]
    axes, m = run.manifest["axes"], run.manifest
    by_coords = {
        (f["coords"]["panel"], f["coords"].get("schedule"), f["coords"]["source"], f["coords"].get("t")): f
        for f in m["frames"]
    }
    for source in axes["sources"]:
        x0 = _as_signal(run, frame_file(m, "source", source=source))
        for kind in axes["schedules"]:
            for t in axes["levels"]:
                shown = {}
                for panel in ("x0_v", "x0_eps"):
                    frame = by_coords[(panel, kind, source, t)]
                    shown[panel] = _as_signal(run, frame["file"])
                    recomputed = float(np.sqrt(np.mean((shown[panel] - x0) ** 2)))
                    assert np.isclose(recomputed, frame["metrics"]["rms_shown"], rtol=1e-4, atol=1e-5), (panel, kind, t)
                    assert frame["metrics"]["rms_error"] >= recomputed - 1 / 255, (panel, kind, t)
                ab = by_coords[("noised", kind, source, t)]["metrics"]["alpha_bar"]
                assert np.isclose(
                    by_coords[("x0_eps", kind, source, t)]["metrics"]["rms_error"],
                    by_coords[("x0_v", kind, source, t)]["metrics"]["rms_error"] / np.sqrt(ab),
                    rtol=1e-3,
                )
                free = (np.abs(shown["x0_eps"]) < 0.999) & (np.abs(shown["x0_v"]) < 0.999)
                if ab > 0.05 and free.any():
                    predicted = x0 + (shown["x0_v"] - x0) / np.sqrt(ab)
                    assert (
                        np.abs(predicted - shown["x0_eps"])[free].max() <= (1 / 255) * (1 + 1 / np.sqrt(ab)) + 1e-6
                    ), (kind, t)
    for row in (sf["linear"], sf["cosine"]):
        top = [
            by_coords[(p, row["kind"], s, sf["top"])]["metrics"]["rms_error"]
            for s in axes["sources"]
            for p in ("x0_v",)
        ]
        assert np.isclose(row["v_rms_top"], np.mean(top), rtol=1e-6)


@pytest.mark.parametrize("slug", MODELS)
def test_linear_spends_its_steps_on_noise_and_eps_fails_at_the_noisy_end(facts, slug):
    sf = facts[slug]["schedules"]
    lin, cos = sf["linear"], sf["cosine"]
    assert sf["linear_drowns_sooner"] and lin["t_0db"] < cos["t_0db"]
    assert sf["linear_wastes_more"] and lin["below_minus_20db"] > cos["below_minus_20db"]
    assert sf["eps_ruined"]
    for row in (lin, cos):
        assert row["eps_rms_top"] > 1.0 and row["eps_rms_top"] >= 10 * row["v_rms_top"], row
        assert row["v_rms_top"] < 1.0  # the v estimate stays inside the pixel range's half
    assert sf["sources"] >= 2


def test_the_eps_claims_fail_when_the_eps_estimate_is_as_good_as_v(chosen):
    run = chosen[(MODELS[0], "schedules")]
    frames = copy.deepcopy(run.manifest["frames"])
    v = {
        (f["coords"]["schedule"], f["coords"]["source"], f["coords"]["t"]): f["metrics"]["rms_error"]
        for f in frames
        if f["coords"]["panel"] == "x0_v"
    }
    for frame in frames:  # the eps estimate exactly as close as the v estimate everywhere
        if frame["coords"]["panel"] == "x0_eps":
            frame["metrics"]["rms_error"] = v[
                (frame["coords"]["schedule"], frame["coords"]["source"], frame["coords"]["t"])
            ]
    axes = copy.deepcopy(run.manifest["axes"])  # and linear no noisier than cosine
    axes["thresholds"]["linear"] = axes["thresholds"]["squaredcos_cap_v2"]
    broken = experiments.get("schedules").facts(_copy_run(run, frames=frames, axes=axes), {})
    assert not broken["eps_ruined"] and not broken["linear_wastes_more"] and not broken["linear_drowns_sooner"]
    assert broken["linear"]["eps_over_1_from"] is None


# -- the reverse process -------------------------------------------------------------------------


@pytest.mark.parametrize("slug", MODELS)
def test_predicted_noise_is_plain_noise_first_and_shows_the_outline_last(facts, slug):
    rv = facts[slug]["reverse"]
    assert rv["plain_noise_first"], rv["seeds"]
    assert 0.85 <= rv["first_rms"] <= 1.15  # unit noise
    shows = [abs(r["last_edge_r"]) >= rv["edge_line"] for r in rv["seeds"]]
    assert rv["outline_visible"] and rv["outline_seeds"] == sum(shows) > len(shows) / 2, rv["seeds"]
    assert rv["last_rms"] < rv["first_rms"]  # less noise is predicted at the end, least along edges


def test_the_outline_claim_fails_when_the_last_noise_frame_is_plain_noise(chosen):
    run = chosen[(MODELS[0], "reverse")]
    steps = run.manifest["axes"]["steps"]
    frames = copy.deepcopy(run.manifest["frames"])
    first = {
        f["coords"]["seed"]: f["file"] for f in frames if f["coords"]["panel"] == "eps" and f["coords"]["step"] == 0
    }
    for frame in frames:
        if frame["coords"]["panel"] == "eps" and frame["coords"]["step"] == steps - 1:
            frame["file"] = first[frame["coords"]["seed"]]
    assert not experiments.get("reverse").facts(_copy_run(run, frames=frames), {})["outline_visible"]


@pytest.mark.parametrize("slug", MODELS)
def test_coarse_shapes_settle_before_fine_detail(facts, slug):
    rv = facts[slug]["reverse"]
    assert rv["coarse_first"], rv["seeds"]


# -- similar noise -------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", MODELS)
def test_similar_noise_rests_on_enough_seeds(facts, slug):
    assert facts[slug]["mix_noise"]["seeds"] >= 8


@pytest.mark.parametrize("slug", MODELS)
def test_the_smallest_mix_keeps_the_picture_for_most_seeds(facts, slug):
    """ "Similar noise, similar picture", as the page words it: for at least three in four seeds."""
    sn = facts[slug]["mix_noise"]
    assert sn["close_at_smallest"] * 4 >= 3 * sn["seeds"], sn
    assert sn["mostly_similar"]
    # the page says where the picture tips differs with the seed: it must really differ
    assert sn["close_until_low"] < sn["close_until_high"], sn


# -- coarse to fine (spectra) -------------------------------------------------------------------


def _ring_power(image: np.ndarray) -> np.ndarray:
    """Radially averaged power of one (H, W, C) image, written out here (not spectrum.py): for each
    whole k from 1 to H / 2, the mean |FFT|^2 / (H W) of the coefficients at rounded radius k."""
    h = image.shape[0]
    power = np.mean([np.abs(np.fft.fft2(image[..., c])) ** 2 for c in range(image.shape[2])], axis=0) / (h * h)
    f = np.fft.fftfreq(h) * h
    radius = np.rint(np.sqrt(f[:, None] ** 2 + f[None, :] ** 2))
    return np.array([power[radius == k].mean() for k in range(1, h // 2 + 1)])


def _frame(run: Run, manifest_file: str) -> np.ndarray:
    array = _as_signal(run, manifest_file)
    return array[..., None] if array.ndim == 2 else array


@pytest.mark.parametrize("slug", MODELS)
def test_spectra_are_recomputed_from_the_frames(chosen, facts, slug):
    """The chart's x0-estimate and final spectra (manifest metrics, measured on the float states)
    match the spectra of the PNG frames (8-bit: quantisation noise of about 5e-6 per frequency), and
    the page's settle steps and noise-floor counts are recomputed here from the frames."""
    run, sf = chosen[(slug, "spectra")], facts[slug]["spectra"]
    steps, seeds = run.manifest["axes"]["steps"], run.manifest["axes"]["seeds"]
    alpha_bar = np.array(run.manifest["axes"]["alpha_bar"])
    finals = {s: _frame(run, frame_file(run.manifest, "x", seed=s, step=steps)) for s in seeds}
    errors = np.zeros((steps, len(sf["frequencies"])))
    for s in seeds:
        for i in range(steps):
            x0_file = frame_file(run.manifest, "x0", seed=s, step=i)
            x0 = _frame(run, x0_file)
            manifest_spectrum = next(f["metrics"]["spectrum"] for f in run.manifest["frames"] if f["file"] == x0_file)
            clipped = float(
                (np.abs(x0) >= 1).mean()
            )  # the manifest's spectrum is the float estimate's; the PNG is clipped
            assert np.allclose(_ring_power(x0), manifest_spectrum, rtol=0.05 + 3 * clipped, atol=1e-4), (s, i, clipped)
            errors[i] += _ring_power(x0 - finals[s]) / len(seeds)
    clean = np.mean([_ring_power(finals[s]) for s in seeds], axis=0)
    settled = errors <= sf["settled_share"] * clean
    settle = [min([i for i in range(steps) if settled[i:, k].all()], default=steps) for k in range(len(clean))]
    assert settle == sf["settle"]
    above = []
    for a in alpha_bar:
        visible = a * clean >= 1 - a
        above.append(len(visible) if visible.all() else int(np.argmin(visible)))
    assert above == sf["above"]


@pytest.mark.parametrize("slug", MODELS)
def test_slow_waves_settle_before_fast_ones_and_the_floor_uncovers_them_in_order(facts, slug):
    sf = facts[slug]["spectra"]
    assert sf["coarse_first"] and sf["coarse"]["step"] < sf["middle"]["step"] < sf["fine"]["step"], sf["settle"]
    assert sf["floor_lifts"] and sf["above"][0] == 0 and sf["last_above"] == len(sf["frequencies"]), sf["above"]
    assert sf["flat_start"] and sf["below_at_start"] and sf["smoother_at_start"]
    assert sf["under_where_covered"] > 0.8 and sf["ratio_covered"] < sf["ratio_visible"]
    assert sf["late_is_fine"]  # the last step's claim, recomputed from the frames in test_claims_spectra.py


def test_the_coarse_first_claim_fails_when_fine_detail_settles_first(chosen):
    """A run whose x0 estimates are the final image from step 1 on settles every frequency at once:
    the coarse-first fact must then be false (the page says the order does not hold)."""
    run = chosen[(MODELS[0], "spectra")]
    steps = run.manifest["axes"]["steps"]
    finals = {
        f["coords"]["seed"]: f["file"]
        for f in run.manifest["frames"]
        if f["coords"].get("panel") == "x" and f["coords"]["step"] == steps
    }
    frames = copy.deepcopy(run.manifest["frames"])
    for frame in frames:
        if frame["coords"].get("panel") == "x0":
            frame["file"] = finals[frame["coords"]["seed"]]
    broken = experiments.get("spectra").facts(_copy_run(run, frames=frames), {})
    assert not broken["coarse_first"] and set(broken["settle"]) == {0}


# -- where trajectories go -----------------------------------------------------------------------


def _trajectory_states(run: Run) -> tuple[np.ndarray, np.ndarray]:
    axes = run.manifest["axes"]
    load = lambda panel, count: np.stack(
        [
            np.stack([_as_signal(run, frame_file(run.manifest, panel, seed=s, step=i)).ravel() for i in range(count)])
            for s in axes["seeds"]
        ]
    )
    return load("x", axes["steps"] + 1), load("x0", axes["steps"])


@pytest.mark.parametrize("slug", MODELS)
def test_the_trajectory_plane_and_distances_are_recomputed_from_the_frames(chosen, facts, slug, tmp_path):
    """The plane: the top two principal axes of all centred states, found here by subspace iteration
    (not the build's Gram matrix, and not a full SVD, which took 18 s of one core for 1,616 colour
    states), give the same coordinates up to each axis's sign and the same shares of the variance
    (the total variance is the squared Frobenius norm); the spreads and the commit step are
    recomputed from the frames too."""
    run, tf = chosen[(slug, "trajectories")], facts[slug]["trajectories"]
    xs, x0s = _trajectory_states(run)
    seeds, steps = xs.shape[0], x0s.shape[1]
    states = np.concatenate([xs.reshape(-1, xs.shape[2]), x0s.reshape(-1, xs.shape[2])])
    centred = states - states.mean(axis=0)
    basis = np.random.default_rng(0).standard_normal((centred.shape[1], 8))
    for _ in range(60):  # block power iteration: converges as (sigma_9 / sigma_2) ** 120
        basis, _ = np.linalg.qr(centred.T @ (centred @ basis))
    u, sv, _ = np.linalg.svd(centred @ basis, full_matrices=False)  # a 1,616 x 8 SVD
    coords = u[:, :2] * sv[:2]
    assert np.allclose(tf["explained"], sv[:2] ** 2 / np.square(centred).sum(), atol=1e-4)
    data = experiments.get("trajectories").figure(run, _NoSheets())
    drawn = np.concatenate([np.reshape(data["points"]["x"], (-1, 2)), np.reshape(data["points"]["x0"], (-1, 2))])
    for j in range(2):
        sign = np.sign(coords[np.argmax(np.abs(coords[:, j])), j])
        assert np.allclose(drawn[:, j], sign * coords[:, j], atol=2e-3), j
    spread = lambda a: np.mean([np.linalg.norm(a[p] - a[q]) for p in range(seeds) for q in range(p + 1, seeds)])
    assert np.isclose(tf["x0_start_spread"], spread(x0s[:, 0]), rtol=1e-6)
    assert np.isclose(tf["final_spread"], spread(xs[:, steps]), rtol=1e-6)
    nearest_own = [
        all(np.argmin([np.linalg.norm(x0s[s, i] - xs[o, steps]) for o in range(seeds)]) == s for s in range(seeds))
        for i in range(steps)
    ]
    assert tf["commit"] == next((i for i in range(steps) if all(nearest_own[i:])), None)


class _NoSheets:
    """Stands in for the sprite sheets: the trajectory builder's frame references are not checked here."""

    def add(self, files, **_):
        return [[0, n, f] for n, f in enumerate(files)]


@pytest.mark.parametrize("slug", MODELS)
def test_estimates_start_together_fan_out_and_commit_early(facts, slug):
    tf = facts[slug]["trajectories"]
    assert tf["seeds"] >= 16
    assert tf["together_at_start"] and tf["fans_out"] and tf["meet"], tf
    assert tf["commit"] is not None and tf["commit"] < tf["steps"] // 4, tf["own_at_step"]


def test_the_together_claim_fails_when_the_first_estimates_are_already_apart(chosen):
    """Step 1's estimates replaced by each seed's final picture: no longer one blurry average."""
    run = chosen[(MODELS[0], "trajectories")]
    steps = run.manifest["axes"]["steps"]
    finals = {
        f["coords"]["seed"]: f["file"]
        for f in run.manifest["frames"]
        if f["coords"].get("panel") == "x" and f["coords"]["step"] == steps
    }
    frames = copy.deepcopy(run.manifest["frames"])
    for frame in frames:
        if frame["coords"].get("panel") == "x0" and frame["coords"]["step"] == 0:
            frame["file"] = finals[frame["coords"]["seed"]]
    broken = experiments.get("trajectories").facts(_copy_run(run, frames=frames, frames_sha256="changed"), {})
    assert not broken["together_at_start"] and not broken["fans_out"]


# -- similar noise, step by step -----------------------------------------------------------------


@pytest.mark.parametrize("slug", MODELS)
def test_the_trajectory_distances_start_at_the_noise_and_end_at_the_pictures(chosen, facts, slug):
    """Each cell's per-step distances begin at ||n1 - n2|| and end at ||o1 - o2||, which the o1 and o2
    PNGs give again here (8-bit: within 0.5 % or 0.05); the page's step-by-step facts are recounted."""
    run, sn = chosen[(slug, "mix_noise")], facts[slug]["mix_noise"]
    cells = {}
    for f in run.manifest["frames"]:
        if f["coords"].get("panel") == "n2":
            m, seed, scale = f["metrics"], f["coords"]["seed"], float(f["coords"]["scale"])
            assert len(m["x_gap"]) == len(m["x0_gap"]) + 1 == run.manifest["axes"]["steps"] + 1
            assert np.isclose(m["x_gap"][0], m["noise_distance"], rtol=1e-4, atol=1e-4)
            assert m["x_gap"][-1] == m["output_distance"]
            o1 = _as_signal(run, frame_file(run.manifest, "o1", seed=seed))
            o2 = _as_signal(run, frame_file(run.manifest, "o2", seed=seed, scale=scale))
            # the metric is on the float outputs, the PNGs are 8-bit: half a level per value, over its size
            assert np.isclose(
                np.linalg.norm(o1 - o2), m["output_distance"], rtol=5e-3, atol=0.05 + 0.004 * np.sqrt(o1.size)
            )
            cells.setdefault(seed, {})[scale] = m
    small = sn["smallest_scale"]
    assert sn["together_at_smallest"] == sum(c[small]["x_gap"][-1] < c[small]["x_gap"][0] for c in cells.values())
    typical = typical_distance(run)
    firsts = [min(s for s, m in c.items() if s > 0 and m["output_distance"] >= 0.5 * typical) for c in cells.values()]
    assert sn["parting_median"] == statistics.median(firsts)


@pytest.mark.parametrize("slug", MODELS)
def test_nearby_starts_draw_together_and_other_pictures_are_decided_early(facts, slug):
    sn = facts[slug]["mix_noise"]
    assert sn["together_at_smallest"] * 2 > sn["gap_seeds"], sn
    assert sn["x0_parts_by"] is not None and sn["x0_parts_by"] < sn["gap_steps"] / 2, sn


# -- the words follow the facts ------------------------------------------------------------------


def _all_models(chosen) -> dict:
    """Figure entries of every shipped model (the page as the site builds it: one block of words each)."""
    figures = {name: [] for name in experiments.names()}
    for slug in MODELS:
        for name in figures:
            if (slug, name) in chosen:
                figures[name].append(_stub_figure(slug))
    return figures


def _stub_figure(slug: str) -> dict:
    """A model's entry in the templates' figure lists: enough for the words, no figure data."""
    return {
        "slug": slug,
        "label": slug,
        "size": 32,
        "channels": 1,
        "levels": [],
        "prediction": "v_prediction",
        "scales": [],
        "seeds": [],
    }


def words_of(text: str, slug: str) -> str:
    """Everything the page says in `slug`'s blocks (templates' per_model), in order, one string."""
    blocks = re.findall(r'<div class="nti-per-model" data-model="%s"[^>]*>(.*?)</div>' % re.escape(slug), text, re.S)
    return re.sub(r"\s+", " ", " ".join(blocks))


def _render(template: str, facts: dict, figures: dict) -> str:
    env = environment(REPO / "templates")
    return env.get_template(template).render(page_context(figures, [], facts), root="../", page_file="x.md", similar=[])


def _figures(chosen, model: str = MODELS[0]) -> dict:
    figures = {name: [] for name in experiments.names()}
    for (slug, experiment), run in chosen.items():
        if slug == model:
            figures[experiment].append(_stub_figure(slug))
    return figures


@pytest.mark.parametrize(
    "template, lesson, broken, claim, instead",
    [
        (
            "forward_backward.md.j2",
            "forward_backward",
            {"noisiest": 1.0, "noisiest_is_new": False},
            "from the original; two unrelated samples lie",
            "the original survives",
        ),
        (
            "step_counts.md.j2",
            "step_counts",
            {"fewer_is_worse": False},
            "Fewer steps are cheaper",
            "does not shrink steadily",
        ),
        ("reverse.md.j2", "reverse", {"outline_visible": False}, "the object's outline shows", "no outline shows"),
        (
            "samplers.md.j2",
            "samplers",
            {"second_order_everywhere": False, "second_order": {"5": False, "10": False}},
            "At every budget DPM-Solver++ lands closer",
            "Second order does not pay here",
        ),
        (
            "samplers.md.j2",
            "samplers",
            {"ddpm_elsewhere": False, "ddpm_elsewhere_mean": False},
            "DDPM lands elsewhere",
            "DDPM, closer than expected",
        ),
        (
            "samplers.md.j2",
            "samplers",
            {"ddpm_elsewhere": False, "ddpm_closer": 1},
            "DDPM lands elsewhere: each of its",
            "DDPM lands elsewhere on average",
        ),
        ("spectra.md.j2", "spectra", {"coarse_first": False}, "coarse first, fine detail last", "does not hold here"),
        ("spectra.md.j2", "spectra", {"blur_at_start": False}, "is a blur", "a faint guess, fainter still"),
        ("trajectories.md.j2", "trajectories", {"together_at_start": False}, "lie close together", "are already"),
        (
            "similar_noise_mix.md.j2",
            "mix_noise",
            {"together_at_smallest": 0},
            "for every seed, a median",
            "end further apart than they started",
        ),
        (
            "similar_noise_mix.md.j2",
            "mix_noise",
            {"nearby_vs_unrelated": "closer"},
            "it cannot tell them apart",
            "so DDIM does draw these nearby starts together",
        ),
        ("schedules.md.j2", "schedules", {"eps_ruined": False}, "is ruined", "ε holds up here"),
        (
            "schedules.md.j2",
            "schedules",
            {"linear_wastes_more": False},
            "start from images that are nearly pure noise",
            "are lost to near-pure noise",
        ),
        (
            "schedules.md.j2",
            "schedules",
            {"linear_drowns_sooner": False},
            "the linear image holds less picture",
            "Not on these curves",
        ),
    ],
)
def test_the_words_switch_with_the_data(chosen, facts, template, lesson, broken, claim, instead):
    """The page makes its claim from the default runs' facts, and says otherwise when they say otherwise."""
    figures = _figures(chosen)
    text = _render(template, facts, figures)
    assert claim in text and instead not in text
    changed = copy.deepcopy(facts)
    changed[MODELS[0]][lesson].update(broken)
    text = _render(template, changed, figures)
    assert claim not in text and instead in text


@pytest.mark.parametrize("slug", MODELS)
def test_a_larger_patch_usually_changes_more_and_most_change_lies_outside_the_square(facts, slug):
    pn = facts[slug]["patch_noise"]
    assert pn["larger"]["tendency"] and pn["larger"]["more"], pn["larger"]
    assert pn["denser_inside"] and pn["most_outside_everywhere"], pn["rows"]


@pytest.mark.parametrize("slug", MODELS)
def test_from_the_middle_level_the_reconstruction_is_a_cousin(facts, slug):
    """ "A cousin" only where the middle level is still the same picture and clearly changed."""
    fb = facts[slug]["forward_backward"]
    p = fb["middle_point"]
    assert fb["middle_is_cousin"] == (p["same"] is True and fb["middle"] > 0.1 * fb["typical"]), p


# -- predict, then see: each question's answer is the run's -----------------------------------------

_PREDICT = re.compile(
    r'<div class="nti-predict" data-values="([^"]*)" data-answer="([^"]*)"[^>]*>\s*'
    r'<p class="nti-predict-question"><strong>Guess first\.</strong> (.*?)</p>\s*'
    r'<div class="nti-predict-reveal"[^>]*>(.*?)(?=<div class="nti-per-model"|\{% endcall|$)',
    re.S,
)  # the revealed words: up to the next model's block (the templates' Markdown, before MkDocs)


def _questions(text: str, slug: str) -> list[tuple[list, object, str, str]]:
    """(values, answer, question, revealed words) of every guess-first question about `slug`."""
    import html
    import json

    found = []
    for values, answer, question, words in _PREDICT.findall(text):
        if slug in html.unescape(question):
            found.append((json.loads(html.unescape(values)), json.loads(html.unescape(answer)), question, words))
    return found


@pytest.mark.parametrize("slug", MODELS)
def test_each_guess_first_question_is_answered_by_the_runs(chosen, facts, slug):
    """Three lessons ask the reader to guess before they see (Kim, Reinecke and Hullman 2017): the
    step by which the clean-image guess has the large shapes (reverse), the start level from which
    a reconstruction is a different picture (forward/backward), the mixing scale up to which the
    median seed keeps its picture (mix noise). Each model's answer is its own run's fact, one of the
    offered values (or between two of them), and the words revealed after the guess say it."""
    figures, f = _all_models(chosen), facts[slug]
    reverse = _questions(_render("reverse.md.j2", facts, figures), slug)
    assert len(reverse) == 1
    values, answer, _, words = reverse[0]
    assert (
        answer == int(f["reverse"]["coarse_at"] + 1)
        and answer in values
        and values == list(range(1, f["reverse"]["steps"] + 1))
    )
    assert f"large shapes right by step {answer} of {f['reverse']['steps']}" in re.sub(r"\s+", " ", words)
    # a median of an even count may fall between the seeds: their spread is said too
    coarse = [r["coarse_at"] + 1 for r in f["reverse"]["seeds"]]
    spread = f"(the median of {len(coarse)} seeds, which get there from step {min(coarse)} to step {max(coarse)})"
    assert spread in re.sub(r"\s+", " ", words)

    fb = _questions(_render("forward_backward.md.j2", facts, figures), slug)
    tipping = f["forward_backward"]["tipping"]
    if tipping is None:
        assert fb == []  # nothing to guess: every level gives back the same picture
    else:
        values, answer, _, words = fb[0]
        assert len(fb) == 1 and answer == tipping["level"] + 1 and answer in values
        assert f"level **{answer}** of" in words

    mix = _questions(_render("similar_noise_mix.md.j2", facts, figures), slug)
    values, answer, _, words = mix[0]
    m = f["mix_noise"]
    assert len(mix) == 1 and answer == m["close_until_median"] and values == m["scales"]
    assert min(values) <= answer <= max(values)
    assert f"seeds: {answer:.2f})" in re.sub(r"\s+", " ", words)
