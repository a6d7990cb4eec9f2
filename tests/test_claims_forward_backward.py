"""Forward and backward: what the page says about each model's runs holds on both shipped models.

"The same picture" is judged as the eye would: the model's own classifier gives the reconstruction
the original's class AND it lies within a share of the site-wide typical distance. The verdicts are
recomputed here from the frame files with the shipped classifier (not read from the manifest), the
page's counts and marks are checked against them, and every run fact is worded in each model's own
block. NTI_DEFAULT_RUNS=DIR reuses a finished default precompute (see test_claims.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from site_support import frame_file
from test_claims import MODELS, REPO, _figures, _render

from generate import experiments
from generate.experiments.similar_noise.distance import typical_distance

pytestmark = pytest.mark.slow  # left out of `make test-fast`


FB = "forward_backward"


def _frame(run, file: str) -> np.ndarray:
    """A frame as (H, W, C) uint8, as the page shows it."""
    with Image.open(run.folder / file) as image:
        array = np.asarray(image)
    return array[..., None] if array.ndim == 2 else array


def _matches(run, frames: np.ndarray) -> tuple[str, list[int]]:
    """What each frame matches, computed here from the shipped files (not judge.py's `match`): the
    class of the model's classifier where it is right on most held-out images, else the index of
    the nearest image of the exact training set (training.json's sha256)."""
    import hashlib
    import json

    import torch
    from safetensors.torch import load_file

    from generate.core.quality import FeatureNet, nearest, to_input
    from generate.paths import REPO as ROOT
    from generate.shipped import SHIPPED_DIR

    folder = SHIPPED_DIR / run.slug
    card, training = (json.loads((folder / name).read_text()) for name in ("card.json", "training.json"))
    if card["classifier"]["heldout_accuracy"] >= 0.5:
        state = load_file(str(folder / "classifier.safetensors"))
        net = FeatureNet(state["body.0.weight"].shape[1], state["head.weight"].shape[0])
        net.load_state_dict(state)
        with torch.no_grad():
            return "classifier", net.eval()(to_input(frames)).argmax(1).tolist()
    train_file = next(p for p in (folder / "train.npy", ROOT / training["data_dir"] / "train.npy") if p.is_file())
    assert hashlib.sha256(train_file.read_bytes()).hexdigest() == training["data"]["arrays"]["train"]
    return "nearest", nearest(frames, np.load(train_file))[0].tolist()


def _judged_from_frames(run, typical: float, share: float) -> tuple[str, list[dict]]:
    """Per level (noisiest first): whether the reconstruction matches the original, its pixel
    distance, and whether that makes the same picture."""
    manifest, steps = run.manifest, int(run.manifest["axes"]["steps"])
    levels = [int(k) for k in manifest["axes"]["levels"]]
    original = _frame(run, frame_file(manifest, "original"))
    recons = [_frame(run, frame_file(manifest, "x", level=k, step=steps - k)) for k in levels]
    method, found = _matches(run, np.stack([original] + recons))
    as_signal = lambda a: a.astype(np.float64) / 127.5 - 1.0
    out = []
    for k, recon, m in zip(levels, recons, found[1:]):
        distance = float(np.linalg.norm(as_signal(recon) - as_signal(original)))
        out.append(
            {
                "level": k,
                "distance": distance,
                "same_match": m == found[0],
                "same": m == found[0] and distance < share * typical,
            }
        )
    return method, out


# What agrees with the eye on each shipped model (judge.py): fashion-32's classifier is right on 84 %
# of held-out images; emoji-32's on 42 %, while the model redraws its 136 training emoji closely.
JUDGE = {"fashion-32": "classifier", "emoji-32": "nearest"}


@pytest.mark.parametrize("slug", MODELS)
def test_same_picture_verdicts_are_the_match_and_the_distance(chosen, facts, slug):
    """Every level the page counts as the same picture matches the original and lies within the
    bound, and every other level fails one of the two: recomputed from the frames. On the
    distance-only rule of before (different from half the typical distance on), fashion-32's levels
    3-4, 6-10 and 12 (the same ankle boot, redrawn) counted as different pictures, and emoji-32's
    levels 6, 9, 11, 13 and 26 (other emoji, 7.8-11.1 away) as the same."""
    run, fb = chosen[(slug, FB)], facts[slug][FB]
    typical = typical_distance(chosen[(slug, "mix_noise")])
    assert fb["typical"] == typical  # the one site-wide definition of "two unrelated samples"
    assert fb["bound"] == pytest.approx(fb["same_share"] * typical)
    method, expected = _judged_from_frames(run, typical, fb["same_share"])
    assert fb["judged_by"] == method == JUDGE.get(slug, method), (slug, fb["judged_by"], method)
    assert [p["level"] for p in fb["curve"]] == [e["level"] for e in expected]
    assert np.allclose([p["distance"] for p in fb["curve"]], [e["distance"] for e in expected], rtol=1e-4)
    assert [p["same_match"] for p in fb["curve"]] == [e["same_match"] for e in expected], slug
    assert [p["same"] for p in fb["curve"]] == [e["same"] for e in expected], slug
    assert fb["same_count"] == sum(e["same"] for e in expected)
    assert fb["different_count"] == len(expected) - fb["same_count"]
    assert fb["other_match_count"] == sum(not e["same_match"] for e in expected)
    assert fb["distance_only_same"] == sum(e["distance"] < fb["bound"] for e in expected)
    # the page's "different picture from level k": the cleanest level judged different, all cleaner the same
    different = [i for i, e in enumerate(expected) if not e["same"]]
    if different:
        first = max(different)
        assert fb["tipping"]["level"] == expected[first]["level"]
        assert all(e["same"] for e in expected[first + 1 :])
        assert fb["tipping"]["different_from_here"] == len(different)
        # "level k stands alone": the start just noisier is the same picture again, and the next
        # different level the page names is the cleanest of the noisier ones judged different
        alone = first > 0 and expected[first - 1]["same"]
        assert fb["tipping"]["alone"] == alone, slug
        after = [i for i in different if i < first - 1]
        assert fb["tipping"]["next_level"] == (expected[max(after)]["level"] if alone and after else None)
    else:
        assert fb["tipping"] is None
    # the distance alone would not do: it calls some same pictures different or some others the same
    by_distance = [e["distance"] < 0.5 * typical for e in expected]
    assert by_distance != [e["same"] for e in expected]


@pytest.mark.parametrize("slug", MODELS)
def test_the_noisiest_start_is_a_different_picture_and_the_cleanest_the_original(facts, slug):
    fb = facts[slug][FB]
    assert fb["noise"] == "independent"
    assert fb["noisiest_point"]["same"] is False and fb["noisiest_is_new"], fb["noisiest_point"]
    assert fb["cleanest_point"]["same"] is True
    assert fb["cleanest"] <= 0.1 * fb["typical"] and fb["cleanest_is_close"]


def _both_models(chosen) -> dict:
    """The figure data the template sees, for every shipped model (the test helper's one-model
    version, plus each model's reconstructions strip as the builder describes it)."""
    figures = {name: [] for name in experiments.names()}
    for slug in MODELS:
        for name, entries in _figures(chosen, slug).items():
            figures[name] += entries
    for entry in figures[FB]:
        levels = len(chosen[(entry["slug"], FB)].manifest["axes"]["levels"])
        entry["reconstructions"] = {
            "url": f"../frames/{entry['slug']}/{FB}/reconstructions.png",
            "columns": 10,
            "rows": -(-levels // 10),
            "width": 340,
            "height": 34 * -(-levels // 10),
        }
    return figures


def _blocks(text: str) -> dict[str, list[str]]:
    """Each model's per-model blocks of the page (templates/_macros.j2 per_model), by slug."""
    out: dict[str, list[str]] = {}
    parts = re.split(r'<div class="nti-per-model" data-model="([^"]+)"', text)
    for slug, body in zip(parts[1::2], parts[2::2]):  # a block's text runs to the next block (or the page's end)
        out.setdefault(slug, []).append(body)
    return out


def test_every_run_fact_is_worded_per_model(chosen, facts):
    """Each model's blocks carry its own numbers (the typical distance, the counts, the tipping level)
    and the marks under its reconstructions agree with its verdicts, for every shipped model: the
    page of before worded every number for the first model only."""
    text = _render("forward_backward.md.j2", facts, _both_models(chosen))
    blocks = _blocks(text)
    assert set(blocks) == set(MODELS)
    for slug in MODELS:
        fb, own = facts[slug][FB], "\n".join(blocks[slug])
        assert len(blocks[slug]) == 6  # the middle level's ᾱ, three steps with numbers, the judgement, its pictures
        mid = fb["middle_point"]["alpha_bar"]  # ᾱ is the share of the image's power left; the image is scaled by √ᾱ
        assert f"Here ᾱ = {mid:.2f}" in blocks[slug][1] and f"scaled by √ᾱ = {mid**0.5:.2f}" in blocks[slug][1]
        assert f"{fb['typical']:.1f}" in own
        assert f"{fb['same_count']} of {len(fb['levels'])} reconstructions are the same picture" in own
        assert f"By the distance alone, {fb['distance_only_same']} would count as the same picture" in own
        # the different pictures within the bound (changed match only), counted from the curve
        near = sum(p["same"] is False and p["distance"] < fb["bound"] for p in fb["curve"])
        assert ("here every different picture lies beyond the bound" in own) == (near == 0)
        assert (f": {near} of the different ones lie within the bound" in own) == (near > 0)
        tip = fb["tipping"]
        if tip and tip["alone"] and tip["distance"] < fb["bound"]:
            assert f"It lies within the distance bound ({tip['distance']:.1f} against {fb['bound']:.1f})" in own
            assert (f"as {near - 1} other different reconstructions do" in own) == (near > 1)
        assert own.count("nti-fb-mark nti-fb-same") == fb["same_count"]
        assert own.count("nti-fb-mark nti-fb-new") == fb["different_count"]
        marks = re.findall(r'class="nti-fb-mark nti-fb-(same|new)" title="level (\d+):', own)
        assert [(m == "same", int(level) - 1) for m, level in marks] == [(p["same"], p["level"]) for p in fb["curve"]]
        # a different picture's mark says what decided it: another class (or nearest image), or the distance bound
        titles = re.findall(r'class="nti-fb-mark nti-fb-new" title="level \d+: ([^"]*)"', own)
        for p, title in zip([p for p in fb["curve"] if not p["same"]], titles):
            if p["same"] is None:
                continue  # not judged (no typical distance): nothing decided it
            if p["same_match"] is False:
                assert title.startswith("different: ") and p["match_name"] in title and "bound" not in title, title
            else:
                assert f"beyond the bound of {fb['bound']:.1f}" in title, title
        if fb["tipping"]:
            assert f"level **{fb['tipping']['level'] + 1}** of {fb['steps']}" in own
        accuracy = round(100 * fb["classifier_accuracy"])  # the verdicts' baseline
        if fb["judged_by"] == "classifier":
            assert f"{fb['classifier_classes']} classes {accuracy} % of the time" in own
        else:
            assert f"learnt from only {fb['training_images']} images" in own
            assert (
                f"right on {accuracy} % of held-out images over {fb['classifier_classes']} classes, is too weak" in own
            )
        for p in (fb["cleanest_point"], fb["middle_point"], fb["noisiest_point"]):
            assert f"level {p['level'] + 1}" in own and f"{p['distance']:.1f}" in own
        for other in MODELS:
            if other != slug and f"{facts[other][FB]['typical']:.1f}" != f"{fb['typical']:.1f}":
                assert f"{facts[other][FB]['typical']:.1f}" not in own


def test_which_way_the_levels_run_is_on_the_figure():
    """Level 1 is the noisiest start: said by the slider's label, the live form's label and the
    figure's caption, not only in a tooltip."""
    script = (REPO / "site_src/assets/js/fig-forward-backward.js").read_text(encoding="utf-8")
    live = (REPO / "site_src/assets/js/live-forward-backward.js").read_text(encoding="utf-8")
    assert re.search(r'Slider\(\{ label: "Start level \(1 = noisiest[^"]*\)"', script)
    assert 'numberField("Level (1 = noisiest)"' in live
    template = (REPO / "templates/forward_backward.md.j2").read_text(encoding="utf-8")
    caption = re.search(r'scrolly\("forward_backward", "([^"]+)"', template).group(1)
    assert "Start level 1 is the noisiest" in caption


def test_the_difference_colour_bar_has_units():
    """The heatmap's colour bar says what it measures and in which unit: |reconstruction - original|
    per pixel in % of the black-to-white range (pixels run from -1 to 1, so 1 is 50 %), in its ticks,
    its label and the figure's caption; the figure's bar and the live form's are the same one."""
    script = (REPO / "site_src/assets/js/fig-forward-backward.js").read_text(encoding="utf-8")
    live = (REPO / "site_src/assets/js/live-forward-backward.js").read_text(encoding="utf-8")
    units = re.search(r'export const FB_DIFF_UNITS = "([^"]+)"', script).group(1)
    assert "per pixel" in units and "% of the black-to-white range" in units
    assert (
        "Math.round((v / 2) * 100)" in script and "`${percent(max)} %`" in script
    )  # ticks: a mean |difference| of 1 is 50 %
    for source in (script, live):
        assert "fbDiffBar(model.diff_scale)" in source
        assert "ColorBar({ max: model.diff_scale" not in source  # no bar in raw values
    template = (REPO / "templates/forward_backward.md.j2").read_text(encoding="utf-8")
    caption = re.search(r'scrolly\("forward_backward", "([^"]+)"', template).group(1)
    assert "in % of the black-to-white range" in caption


# The middle level (26 of 50) by eye: fashion-32 redraws the same ankle boot with other details, emoji-32
# draws another emoji (its nearest training image is not the original's), though only 7.8 away.
COUSIN = {"fashion-32": True, "emoji-32": False}


def test_the_middle_level_is_worded_as_its_verdict(chosen, facts):
    """ "A cousin, not a copy" only where the middle level's reconstruction is still the same picture
    and clearly changed (more than a tenth of an unrelated sample away); elsewhere the step says what
    the verdict is. The page of before called every middle level a cousin that lay between a tenth and
    half of the typical distance, emoji-32's other emoji included."""
    text = _render("forward_backward.md.j2", facts, _both_models(chosen))
    blocks = _blocks(text)
    for slug in MODELS:
        fb = facts[slug][FB]
        p = fb["middle_point"]
        assert fb["middle_is_cousin"] == (p["same"] is True and fb["middle"] > 0.1 * fb["typical"]), p
        if slug in COUSIN:
            assert fb["middle_is_cousin"] is COUSIN[slug], (slug, p)
        step = blocks[slug][2]  # after the middle level's ᾱ
        assert ("A cousin, not a copy" in step) is fb["middle_is_cousin"]
        assert f"level {p['level'] + 1} lies {fb['middle']:.1f} from the original" in step
        assert ("still the same picture" in step) is bool(p["same"]) and ("a different picture" in step) is (
            not p["same"]
        )
        # a verdict the match alone decided (the distance within the bound) is said to be one
        near_call = p["same"] is False and p["same_match"] is False and p["distance"] < fb["bound"]
        assert ("by the distance alone" in step) is near_call, (slug, p["distance"], fb["bound"])


@pytest.mark.parametrize("slug", MODELS)
def test_the_chart_keeps_every_level_apart_with_its_verdict(facts, slug):
    """The distance chart's dots run along the start level, one per level, left to right, each at
    least a dot's width from the next (on a signal-share axis fashion-32's rings for levels 1, 2 and
    5 fell on one another), a ring exactly where the reconstruction is judged different."""
    fb = facts[slug][FB]
    dots = re.findall(r'<circle class="nti-series-mix([^"]*)" cx="([\d.]+)" cy="[\d.]+" r="([\d.]+)"', fb["chart"])
    assert len(dots) == len(fb["curve"]), slug
    xs = [float(x) for _, x, _ in dots]
    assert all(b - a > 2 * float(r) for (a, b), (_, _, r) in zip(zip(xs, xs[1:]), dots)), (slug, xs[:6])
    assert ["nti-fb-pt-new" in kind for kind, _, _ in dots] == [p["same"] is False for p in fb["curve"]], slug
    assert f"start level (1 the noisiest, {fb['steps']} the cleanest)" in fb["chart"]
