"""Noise schedules: the words of every model (issue 23). The last level's sentence quotes what the
figure shows beside it (the image on show, its captions' numbers), with the scale an RMS error is on;
the table of means says it is one. Numbers are read here from the manifest and the PNGs.

Run with NTI_DEFAULT_RUNS=DIR (the default runs) to skip the precompute."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pytest
from site_support import frame_file
from test_claims import MODELS, _as_signal, _render
from test_claims_spectra import _all_models, words_of

pytestmark = pytest.mark.slow  # left out of `make test-fast`


def caption_rms(v: float) -> str:
    """fig-schedules.js `rms`, the captions under the estimates."""
    if v >= 100:
        return f"{round(v):,}"
    return f"{v:.1f}" if v >= 10 else f"{v:.2f}"


@pytest.fixture(scope="module")
def page(chosen, facts):
    return _render("schedules.md.j2", facts, _all_models(chosen))


def _last_level_words(page: str, slug: str, top: int) -> str:
    """The model's words of the step whose figure state is the noisiest level, t = top."""
    for part in page.split('<div class="nti-step" ')[1:]:
        state = json.loads(html.unescape(re.match(r'data-state="([^"]*)"', part).group(1)))
        if state.get("t") == top:
            return words_of(part, slug)
    raise AssertionError(f"no step shows t = {top}")


@pytest.mark.parametrize("slug", MODELS)
def test_the_last_level_quotes_the_image_on_show(chosen, facts, page, slug):
    """Today the text quotes the mean of 2 images (0.64 / 101 / 13008) beside a figure showing one
    image's errors (0.59 / 92.8 / 11953). The step now quotes the first source's errors, as the
    figure's captions print them when the step puts that image on screen, per model."""
    run, sf = chosen[(slug, "schedules")], facts[slug]["schedules"]
    m, top = run.manifest, sf["top"]
    seed = m["axes"]["sources"][0]
    metric = {
        (f["coords"]["panel"], f["coords"].get("schedule")): f["metrics"]["rms_error"]
        for f in m["frames"]
        if f["coords"]["panel"] in ("x0_v", "x0_eps")
        and f["coords"].get("source") == seed
        and f["coords"].get("t") == top
    }
    words = _last_level_words(page, slug, sf["top"])
    assert f"seed {seed}" in words and slug in words
    for kind in ("linear", "squaredcos_cap_v2"):
        for panel in ("x0_v", "x0_eps"):
            assert caption_rms(metric[(panel, kind)]) in words, (panel, kind, words)
    # the mean of the sources differs from the image on show, and the step does not quote it
    assert caption_rms(sf["linear"]["v_rms_top"]) != caption_rms(metric[("x0_v", "linear")])
    assert caption_rms(sf["linear"]["v_rms_top"]) not in words


@pytest.mark.parametrize("slug", MODELS)
def test_an_rms_error_comes_with_its_scale(chosen, facts, page, slug):
    """The baseline of an x0 error: an all-grey guess (every pixel 0) of the image on show, whose
    error is the clean image's RMS, recomputed from the source PNG; the step names the pixel scale."""
    run, sf = chosen[(slug, "schedules")], facts[slug]["schedules"]
    seed = run.manifest["axes"]["sources"][0]
    source = _as_signal(run, frame_file(run.manifest, "source", source=seed))
    grey = float(np.sqrt(np.mean(source**2)))
    assert np.isclose(sf["shown"]["grey_rms"], grey, rtol=1e-9)
    words = _last_level_words(page, slug, sf["top"])
    assert "pixel scale −1 to 1" in words and f"all-grey guess is off by {caption_rms(grey)}" in words
    assert "whole pixel range spans 2" in words  # the scale of the ε estimate's thousands
    # from almost pure noise the v estimate is a blurry average picture: better than grey, far from exact
    for name in ("linear", "cosine"):
        assert 0.2 * grey < sf["shown"][name]["x0_v"] < grey, (name, sf["shown"])


def test_the_table_of_means_says_it_is_one(chosen, facts, page):
    """Outside the steps the errors are means over the sources: labelled so, per model, in short names."""
    assert "each the mean over the model's" in page
    for slug in MODELS:
        sf = facts[slug]["schedules"]
        row = next(line for line in page.splitlines() if line.startswith(f"| {slug} ({sf['sources']} images)"))
        for value in (
            sf["linear"]["v_rms_top"],
            sf["cosine"]["v_rms_top"],
            sf["linear"]["eps_rms_top"],
            sf["cosine"]["eps_rms_top"],
            sf["grey_rms_mean"],
        ):
            assert caption_rms(value) in row, (value, row)


@pytest.mark.parametrize("slug", MODELS)
def test_the_schedule_steps_are_worded_for_each_model_in_db(facts, page, slug):
    sf, words = facts[slug]["schedules"], words_of(page, slug)
    assert f"below 0 dB at t = {sf['linear']['t_0db']}, cosine's only at t = {sf['cosine']['t_0db']}" in words
    assert f"linear is below −20 dB: {sf['linear']['below_minus_20db']} of the" in words
    assert "SNR (in dB)" in page and "8.781" not in page  # dB, never a plain ratio
