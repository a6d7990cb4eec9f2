"""The guidance page's words against the default run of every model the lesson runs on (the shipped
class-conditional one): each number recomputed from the frame files (the classifier run again on the
PNGs, distances and pixel shares read off them), each sentence present exactly where its claim holds.

Needs the default runs: NTI_DEFAULT_RUNS=/work/main/runs reuses a finished runs folder.
"""

from __future__ import annotations

import itertools
import math
import re
import statistics

import numpy as np
import pytest
from PIL import Image
from site_support import frame_file
from test_claims import _figures, _render
from test_claims_samplers import _text

from generate.experiments.forward_backward.judge import classify, find_classifier, load_classifier
from generate.precompute.config import load_config

pytestmark = pytest.mark.slow  # left out of `make test-fast`

GUIDED = load_config("default").models_for("guidance")
TEMPLATE = "guidance.md.j2"


def _png(run, file: str) -> np.ndarray:
    with Image.open(run.folder / file) as image:
        array = np.asarray(image)
    return array[..., None] if array.ndim == 2 else array


def _grid(run) -> tuple[list[float], list[int], list[int], int]:
    axes = run.manifest["axes"]
    return [float(w) for w in axes["scales"]], axes["labels"], axes["seeds"], int(axes["steps"])


def _pct(value: float) -> str:
    return f"{math.floor(value * 100 + 0.5)} %"  # half up, as the page and its chart round


def _recomputed(run) -> list[dict]:
    """Per scale, from the PNGs: the classifier's share of the class asked for, the mean pairwise
    distance between seeds (images in -1 to 1) averaged over classes, the shares of pixel values at 0
    or 255, at 255 (full white) and at 0 (full black)."""
    scales, labels, seeds, steps = _grid(run)
    net = load_classifier(find_classifier(run.manifest["model"]))
    rows = []
    for w in scales:
        finals = {
            (c, s): _png(run, frame_file(run.manifest, "x", label=c, scale=w, seed=s, step=steps))
            for c in labels
            for s in seeds
        }
        found = classify(net, np.stack(list(finals.values()))).argmax(axis=1)
        asked = [c for c, _ in finals]
        signal = {k: v.astype(np.float64) / 127.5 - 1.0 for k, v in finals.items()}
        diversity = statistics.fmean(
            statistics.fmean(
                float(np.linalg.norm(signal[(c, a)] - signal[(c, b)])) for a, b in itertools.combinations(seeds, 2)
            )
            for c in labels
        )
        pixels = np.concatenate([v.ravel() for v in finals.values()])
        rows.append(
            {
                "scale": w,
                "accuracy": float(np.mean(found == np.array(asked))),
                "diversity": diversity,
                "saturation": float(np.mean((pixels == 0) | (pixels == 255))),
                "white": float(np.mean(pixels == 255)),
                "black": float(np.mean(pixels == 0)),
            }
        )
    return rows


@pytest.fixture(scope="module")
def recomputed(chosen):
    return {slug: _recomputed(chosen[(slug, "guidance")]) for slug in GUIDED}


def _page(chosen, facts, slug) -> str:
    return _render(TEMPLATE, facts, _figures(chosen, slug))


def _steps(page: str) -> list[str]:
    body = page.split('<div class="nti-steps"', 1)[1].split("The maths", 1)[0]
    # each step's words as read: its tag's attributes and the Markdown emphasis dropped
    return [_text(s.split(">", 1)[1]).replace("**", "") for s in body.split('<div class="nti-step"')[1:]]


@pytest.mark.parametrize("slug", GUIDED)
def test_every_number_per_scale_is_recomputed_from_the_frames(chosen, facts, recomputed, slug):
    g, page = facts[slug]["guidance"], _text(_page(chosen, facts, slug))
    assert [r["scale"] for r in g["rows"]] == [r["scale"] for r in recomputed[slug]]
    for ours, again in zip(g["rows"], recomputed[slug]):
        for key in ("accuracy", "diversity", "saturation", "white", "black"):
            assert ours[key] == pytest.approx(again[key], abs=1e-9), (ours["scale"], key)
        scale = f"{again['scale']:g}"
        row = f"| {scale} | {_pct(again['accuracy'])} | "
        assert row in page, row
        assert f"| {again['diversity']:.1f} | {_pct(again['white'])} | {_pct(again['black'])} |" in page


@pytest.mark.parametrize("slug", GUIDED)
def test_the_page_says_where_the_class_stops_getting_clearer_and_what_diversity_does(chosen, facts, recomputed, slug):
    rows, g = recomputed[slug], facts[slug]["guidance"]
    one = 1 / g["cells"]
    clear = next(i for i, r in enumerate(rows) if all(x["accuracy"] <= r["accuracy"] + one + 1e-12 for x in rows[i:]))
    steps = _steps(_page(chosen, facts, slug))
    where = next(s for s in steps if "Where the class stops getting clearer" in s)
    said = f"at w = {rows[clear]['scale']:g} the classifier finds the class asked for in"
    assert f"{said} {_pct(rows[clear]['accuracy'])}" in where.lower()
    after = rows[clear:]
    falls = len(after) > 1 and all(b["diversity"] < a["diversity"] for a, b in zip(after, after[1:]))
    assert ("the diversity keeps falling with every larger scale" in where) == falls
    if falls:
        lost = 1 - after[-1]["diversity"] / after[0]["diversity"]
        assert f"{_pct(lost)} closer from w = {after[0]['scale']:g} to w = {after[-1]['scale']:g}" in where
    # the guess is answered with the same scale, and only then does the figure show the chart at it
    html = _page(chosen, facts, slug).replace("&#34;", '"')
    assert f'data-answer="{rows[clear]["scale"]}"' in html
    question = html.split('<div class="nti-predict"', 1)[1].split(">", 1)[0]
    assert f'data-after="{{"view":1,"scale":{clear},"progress":1}}"' in question
    opening = html.split('<div class="nti-predict"', 1)[0].rsplit('<div class="nti-step"', 1)[1].split(">", 1)[0]
    assert '"view":0,' in opening, "while the question is open the figure shows pictures, not the chart"


@pytest.mark.parametrize("slug", GUIDED)
def test_without_guidance_the_label_changes_nothing_and_too_far_saturates(chosen, facts, recomputed, slug):
    run = chosen[(slug, "guidance")]
    scales, labels, seeds, steps = _grid(run)
    assert scales[0] == 0.0
    same = all(
        len(
            {
                (run.folder / frame_file(run.manifest, "x", label=c, scale=0.0, seed=s, step=steps)).read_bytes()
                for c in labels
            }
        )
        == 1
        for s in seeds
    )
    texts = _steps(_page(chosen, facts, slug))
    assert ("Switch the class: the pictures stay exactly the same." in texts[0]) == same
    # exactly one in N at w = 0: every class gets the same pictures, and each shows one class
    assert f"finds the class asked for in {_pct(recomputed[slug][0]['accuracy'])}" in texts[0]
    plain = next(r for r in recomputed[slug] if r["scale"] == 1.0)["accuracy"]
    mostly = "becomes the class asked for, mostly." in texts[1]
    assert mostly == (plain >= 0.5) and f"The classifier agrees for {_pct(plain)} of the" in texts[1]
    too_far = next(s for s in texts if s.startswith("Too far"))
    strongest, conditional = recomputed[slug][-1], next(r for r in recomputed[slug] if r["scale"] == 1.0)
    stark = (
        f"the pictures are stark: {_pct(strongest['white'])} of their pixel values are full white, against "
        f"{_pct(conditional['white'])} at w = 1"
    )
    assert (stark in too_far) == (strongest["white"] > conditional["white"])
    black = (_pct(strongest["black"]), _pct(conditional["black"]))
    darker = f"More pixel values end at full black too: {black[0]} against {black[1]} at w = 1"
    assert (darker in too_far) == (
        strongest["white"] > conditional["white"] and strongest["black"] > conditional["black"]
    )
    ratio = strongest["diversity"] / conditional["diversity"]
    assert f"The diversity across seeds is {_pct(ratio)} of the plain conditional model's" in too_far
    assert ("the more alike the seeds' pictures of one class" in too_far) == (ratio < 1)


@pytest.mark.parametrize("slug", GUIDED)
def test_the_first_guess_already_shows_the_class_as_the_page_says(chosen, facts, recomputed, slug):
    """The classifier run again on the step-0 x0-estimate PNGs (the first guess, from pure noise) at
    w = 1 and at the best scale: the shares the page names, above chance, growing with the scale."""
    run = chosen[(slug, "guidance")]
    scales, labels, seeds, steps = _grid(run)
    net = load_classifier(find_classifier(run.manifest["model"]))
    asked = np.array([c for c in labels for _ in seeds])
    best = max(recomputed[slug], key=lambda r: (r["accuracy"], -r["scale"]))["scale"]

    def first(w: float) -> float:
        frames = np.stack(
            [_png(run, frame_file(run.manifest, "x0", label=c, scale=w, seed=s, step=0)) for c in labels for s in seeds]
        )
        return float(np.mean(classify(net, frames).argmax(axis=1) == asked))

    at_one, at_best = first(1.0), first(best)
    step = next(s for s in _steps(_page(chosen, facts, slug)) if s.startswith("Guidance acts from the first step"))
    assert at_one > 1 / len(labels), "the page says the label already steers the first guess"
    assert f"in {_pct(at_one)} of these first guesses at w = 1 (chance: {_pct(1 / len(labels))})" in step
    assert (f"and in {_pct(at_best)} at w = {best:g}" in step) == (at_best > at_one)
    between = [first(w) for w in scales if 1.0 <= w <= best]
    rises = at_best > at_one and all(a < b for a, b in zip(between, between[1:]))
    assert ("the share rises with every scale up to there" in step) == rises


def test_the_words_follow_the_facts_when_a_claim_fails(chosen, facts):
    """A run where diversity does not fall past the clear scale: the page says so instead."""
    slug = GUIDED[0]
    broken = {**facts, slug: {**facts[slug], "guidance": {**facts[slug]["guidance"], "diversity_falls": False}}}
    where = next(s for s in _steps(_page(chosen, broken, slug)) if "Where the class stops" in s)
    assert "does not fall at every larger scale" in where and "keeps falling" not in where
