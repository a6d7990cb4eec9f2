"""The built site in headless Chromium: every slider (mouse, drag, each key) shows exactly the
manifest's frame, flip alternates, the model switcher swaps runs, instant navigation keeps figures
working, no console errors or CSP violations, nothing leaves localhost, no serious axe violations.
Sheets load on demand: a figure mounts near the viewport with only its first view's sheets, the rest
arrive when the reader engages, and a frame whose sheet is missing never blanks a panel.
Also records each page's transfer size (within PAGE_BUDGET) and saves screenshots under pytest's
temporary folder (its path is printed; nothing is written into the repository)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from site_support import (
    CHROMIUM,
    built_site,
    frame_file,
    large_site,
    lesson_paths,
    manifests,
    page_of,
    served,
    tab,
    wait_until,
)

REPO = Path(__file__).resolve().parents[1]
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
# every page of the site: the overview, the lessons (from the registry, in reading order), the guide
PAGES = {"index": "", **{path.strip("/"): path for path in lesson_paths()}, "make-your-own": "make-your-own/"}
# arrow functions, not expressions: Playwright polls expressions with eval(), which our CSP forbids
# figures far below the fold wait (data-defer) until the reader scrolls near them
READY = "() => Array.from(document.querySelectorAll('.nti-figure')).every(f => f.dataset.ready === 'true' || f.dataset.defer === 'true')"
PAGE_BUDGET = 1_600_000  # bytes of initial transfer per page (the brief's target for the real two-model build)

pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"), pytest.mark.slow]


def js_round(x: float) -> int:
    return math.floor(x + 0.5)  # Math.round, not Python's round-half-even


class Watch:
    """Console errors, page errors, requests that would leave localhost, and (count_bytes) bytes received.

    Requests are seen by a listener, not intercepted: a route on every request sent each one through
    the test process and the Playwright driver and turned Chromium's HTTP cache off, about 0.3 CPU-s a
    page load on the 2-core machine (2026-12-06). Nothing leaves anyway: the browser resolves no host
    but localhost (site_support.CHROMIUM_ARGS), so a request elsewhere fails and is listed here.
    count_bytes sums each response's body; it routes every request (the cache off), so that each page's
    transfer is its first visit's, as a reader's first visit fetches it."""

    def __init__(self, page, count_bytes: bool = False):
        self.errors, self.external, self.bytes = [], [], 0
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", self._requested)
        if count_bytes:
            page.on("requestfinished", self._finished)
            page.route("**/*", lambda route: route.continue_())

    def _requested(self, request):
        url = request.url
        if urlparse(url).hostname not in ("127.0.0.1", "localhost") and not url.startswith(("data:", "blob:")):
            self.external.append(url)

    def _finished(self, request):
        try:
            self.bytes += request.sizes()["responseBodySize"]
        except Exception:  # a request torn down by navigation has no sizes; it transferred nothing we count
            pass

    def assert_clean(self):
        assert not self.errors, self.errors
        assert not self.external, self.external


@pytest.fixture(params=["32px", pytest.param("256px", marks=pytest.mark.slow)])
def sites(request):
    """The figure checks run on both sites: the tiny 32-px and 16-px models, and a 256-px colour model
    (preview sheets of 8 cells, half-size panels): (build, base URL)."""
    build = built_site() if request.param == "32px" else large_site()
    return build, served(build)


@pytest.fixture
def page(browser):
    with tab(browser, viewport={"width": 1280, "height": 900}) as page:
        page.watch = Watch(page)
        yield page


def open_page(page, base_url, path):
    page.goto(base_url + path)
    page.wait_for_function(READY, timeout=15000)


def mounted(figure):
    """A figure below the fold mounts once scrolled near; bring it there and wait for its first view."""
    if figure.get_attribute("data-ready") != "true":
        figure.scroll_into_view_if_needed()
        wait_until(figure, "f => f.dataset.ready === 'true'")


def engage(page, figure):
    """Bring the figure into view and hover it, then wait until all its model's sheets are in."""
    figure.scroll_into_view_if_needed()
    mounted(figure)
    figure.hover()
    wait_until(figure, "f => f.dataset.sheets === 'all'")


PANELS = ".nti-panels:not(.nti-flip-row) .nti-panel"  # a figure's frame panels (not a flip row's copies)


def panel_frames(figure) -> list[str]:
    return figure.locator(PANELS).evaluate_all("els => els.map(e => e.dataset.frame)")


def slider_value(figure, index=0) -> int:
    return int(figure.locator("[role=slider]").nth(index).get_attribute("aria-valuenow"))


def nearest_step(p: int, n: int, positions: int) -> int:
    """The step of an n-step run whose progress i/n is nearest slider position p of 0..positions; ties go up."""
    return min(range(n + 1), key=lambda i: (abs(i * positions - p * n), -i))


def exercise_slider(page, figure, index, expected):
    """Click, drag and every key on slider `index`; after each, the panels must show expected(value)."""
    thumb = figure.locator("[role=slider]").nth(index)
    track = figure.locator(".nti-slider-track").nth(index)
    engage(page, figure)
    lo, hi = int(thumb.get_attribute("aria-valuemin")), int(thumb.get_attribute("aria-valuemax"))
    track.scroll_into_view_if_needed()
    page.wait_for_timeout(150)

    def check(want):
        assert slider_value(figure, index) == want
        assert panel_frames(figure) == expected(want), f"slider at {want}"
        # The thumb is drawn where the value is: centred at the value's fraction of the track.
        box, knob = track.bounding_box(), thumb.bounding_box()
        fraction = (want - lo) / (hi - lo) if hi > lo else 0
        assert abs(knob["x"] + knob["width"] / 2 - (box["x"] + fraction * box["width"])) < 1.5, f"thumb at {want}"

    for fraction in (0.83, 0.13, 0.57):  # away from the rounding boundaries of small ranges
        box = track.bounding_box()
        page.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)
        check(js_round(lo + fraction * (hi - lo)))
    box = track.bounding_box()
    page.mouse.move(box["x"] + 1, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 1, box["y"] + box["height"] / 2, steps=6)
    page.mouse.up()
    check(hi)
    thumb.focus()
    step10 = max(1, js_round((hi - lo) / 10))
    value = lo
    page.keyboard.press("Home")
    check(lo)
    for key, delta in (
        ("ArrowRight", 1),
        ("ArrowUp", 1),
        ("ArrowLeft", -1),
        ("ArrowDown", -1),
        ("ArrowRight", 1),
        ("PageUp", step10),
        ("PageDown", -step10),
        ("End", None),
        ("PageDown", -step10),
        ("PageUp", step10),
        ("ArrowUp", 1),
    ):
        value = hi if key == "End" else min(hi, max(lo, value + delta))
        page.keyboard.press(key)
        check(value)


def _model_manifest(build, figure, experiment):
    mounted(figure)
    return manifests(build["runs"])[(figure.get_attribute("data-model"), experiment)]


def test_a_request_that_would_leave_the_machine_is_listed_and_never_answered(page):
    """The watch every browser test keeps: a page's request to another host is listed (assert_clean
    fails on it), and it fails in the browser (no host but localhost resolves), never answered."""
    failed = []
    page.on("requestfailed", lambda r: failed.append((r.url, r.failure)))
    page.set_content("<p>offline</p>")
    outcome = page.evaluate(
        "() => fetch('https://fonts.googleapis.com/css2?family=Roboto').then(r => 'answered ' + r.status, () => 'failed')"
    )
    assert outcome == "failed"
    assert page.watch.external == ["https://fonts.googleapis.com/css2?family=Roboto"]
    assert failed and "NAME_NOT_RESOLVED" in failed[0][1], failed
    with pytest.raises(AssertionError):
        page.watch.assert_clean()


def test_reverse_slider_shows_the_manifest_frames(page, sites):
    build, base_url = sites
    open_page(page, base_url, "reverse/")
    figure = page.locator('.nti-figure[data-kind="reverse"]')
    manifest = _model_manifest(build, figure, "reverse")
    seed = manifest["axes"]["seeds"][0]
    expected = lambda i: [
        frame_file(manifest, "x", seed=seed, step=i),
        frame_file(manifest, "eps", seed=seed, step=i),
        frame_file(manifest, "x0", seed=seed, step=i),
        frame_file(manifest, "x", seed=seed, step=i + 1),
    ]
    exercise_slider(page, figure, 0, expected)
    # the seed picker switches trajectory
    second = manifest["axes"]["seeds"][1]
    figure.locator(".nti-controls select").select_option("1")
    assert panel_frames(figure)[0] == frame_file(manifest, "x", seed=second, step=slider_value(figure))
    page.watch.assert_clean()


def test_the_loop_diagram_follows_the_step_slider(page, sites):
    """The reverse page's picture of one step: its t and alpha-bar are the manifest's at the slider's step."""
    build, base_url = sites
    open_page(page, base_url, "reverse/")
    figure = page.locator('.nti-figure[data-kind="reverse"]')
    manifest = _model_manifest(build, figure, "reverse")
    axes = manifest["axes"]
    thumb = figure.locator("[role=slider]").first
    for key, i in (("Home", 0), ("ArrowRight", 1), ("End", axes["steps"] - 1)):
        thumb.press(key)
        texts = figure.locator("svg.nti-loop text").all_text_contents()
        assert f"t = {axes['timesteps'][i]}" in texts, (key, texts)
        assert any(t.startswith(f"step {i + 1} of {axes['steps']}") for t in texts), texts
        assert f"{axes['timesteps'][i]}" in figure.locator("svg.nti-loop title").text_content()
    page.watch.assert_clean()


def test_spectra_slider_shows_the_manifest_frames_and_moves_the_chart(page, sites):
    build, base_url = sites
    open_page(page, base_url, "spectra/")
    figure = page.locator('.nti-figure[data-kind="spectra"]')
    manifest = _model_manifest(build, figure, "spectra")
    seed, steps = manifest["axes"]["seeds"][0], manifest["axes"]["steps"]
    expected = lambda i: [
        frame_file(manifest, "x", seed=seed, step=i),
        frame_file(manifest, "eps", seed=seed, step=i),
        frame_file(manifest, "x0", seed=seed, step=i),
        frame_file(manifest, "x", seed=seed, step=steps),
    ]
    exercise_slider(page, figure, 0, expected)
    # the chart follows the slider: its x0-estimate curve is the mean of the seeds' manifest spectra
    thumb = figure.locator("[role=slider]").first
    curve = figure.locator("polyline.nti-spec-x0")
    points = {}
    for key, step in (("Home", 0), ("End", steps - 1)):
        thumb.press(key)
        points[step] = curve.get_attribute("points")
        assert len(points[step].split()) == len(manifest["axes"]["frequencies"])
    spectra = {
        i: np.mean(
            [
                f["metrics"]["spectrum"]
                for f in manifest["frames"]
                if f["coords"].get("panel") == "x0" and f["coords"]["step"] == i
            ],
            axis=0,
        )
        for i in (0, steps - 1)
    }
    if not np.allclose(spectra[0], spectra[steps - 1]):
        assert points[0] != points[steps - 1]
    assert f"step {steps} of {steps}" in figure.locator(".nti-info").first.inner_text()
    page.watch.assert_clean()


def test_trajectories_slider_moves_every_dot_and_a_path_picks_its_seed(page, sites):
    build, base_url = sites
    open_page(page, base_url, "trajectories/")
    figure = page.locator('.nti-figure[data-kind="trajectories"]')
    manifest = _model_manifest(build, figure, "trajectories")
    seeds, steps = manifest["axes"]["seeds"], manifest["axes"]["steps"]
    expected = lambda i, s=seeds[0]: [
        frame_file(manifest, "x", seed=s, step=i),
        frame_file(manifest, "x0", seed=s, step=i),
        frame_file(manifest, "x", seed=s, step=steps),
    ]
    exercise_slider(page, figure, 0, expected)
    # one path pair and one pair of dots per seed; the dots move with the slider
    groups = figure.locator("g.nti-traj-seed")
    assert groups.count() == len(seeds)
    dots = lambda: figure.locator("circle.nti-traj-dot").evaluate_all(
        "els => els.map(e => [e.getAttribute('cx'), e.getAttribute('cy')])"
    )
    thumb = figure.locator("[role=slider]").first
    thumb.press("Home")
    first = dots()
    thumb.press("End")
    assert dots() != first and len(first) == 2 * len(seeds)
    # clicking another seed's path chooses that seed: the panels follow, the picker too
    figure.locator(f'g.nti-traj-seed[data-seed="{seeds[-1]}"]').dispatch_event("click")
    assert panel_frames(figure) == expected(steps - 1, seeds[-1])
    assert figure.locator(".nti-controls select").input_value() == str(len(seeds) - 1)
    assert figure.locator("g.nti-traj-seed.nti-current").count() == 1
    page.watch.assert_clean()


def test_step_count_slider_aligns_trajectories_by_progress(page, sites):
    build, base_url = sites
    open_page(page, base_url, "step-counts/")
    figure = page.locator('.nti-figure[data-kind="step_counts"]')
    manifest = _model_manifest(build, figure, "step_counts")
    counts, seed = sorted(manifest["axes"]["steps"]), manifest["axes"]["seeds"][0]
    # positions of the slider: one per step of the longest run up to 200, then fewer (see progress_positions)
    positions = int(figure.locator("[role=slider]").first.get_attribute("aria-valuemax"))
    assert positions == max(counts) or max(counts) > 200

    # the trajectories at the slider's progress, then each final's difference to the reference (most steps),
    # then the finals of the same counts with leading spacing (diffusers' default: a late first step)
    leading = sorted(manifest["axes"].get("leading", []))
    expected = lambda p: (
        [frame_file(manifest, "x", steps=n, seed=seed, step=nearest_step(p, n, positions)) for n in counts]
        + [frame_file(manifest, "diff", steps=n, seed=seed) for n in counts[:-1]]
        + [frame_file(manifest, "leading", steps=n, seed=seed) for n in leading]
    )
    exercise_slider(page, figure, 0, expected)
    page.watch.assert_clean()


def test_samplers_progress_and_budget_sliders_show_the_manifest_frames(page, sites):
    build, base_url = sites
    open_page(page, base_url, "samplers/")
    figure = page.locator('.nti-figure[data-kind="samplers"]')
    manifest = _model_manifest(build, figure, "samplers")
    axes = manifest["axes"]
    kinds, budgets, steps = axes["samplers"], axes["calls"], axes["steps"]
    positions = int(figure.locator("[role=slider]").first.get_attribute("aria-valuemax"))

    def expected(p, budget, seed):
        return (
            [
                frame_file(
                    manifest,
                    "x",
                    sampler=k,
                    calls=budget,
                    seed=seed,
                    step=nearest_step(p, steps[k][str(budget)], positions),
                )
                for k in kinds
            ]
            + [frame_file(manifest, "ref", seed=seed)]
            + [frame_file(manifest, "diff", sampler=k, calls=budget, seed=seed) for k in kinds]
        )

    seed = axes["seeds"][0]
    # the progress slider, at the budget shown; then the budget slider, at the progress reached
    exercise_slider(page, figure, 0, lambda p: expected(p, budgets[slider_value(figure, 1)], seed))
    progress = slider_value(figure, 0)
    exercise_slider(page, figure, 1, lambda i: expected(progress, budgets[i], seed))
    # Heun's n steps cost 2n - 1 calls: its caption says how many steps the budget gives it
    heun = figure.locator(".nti-panels .nti-panel").nth(kinds.index("heun"))
    assert f"{steps['heun'][str(budgets[slider_value(figure, 1)])]} step" in heun.inner_text()
    figure.locator(".nti-controls select").select_option("1")
    assert panel_frames(figure) == expected(progress, budgets[slider_value(figure, 1)], axes["seeds"][1])
    page.watch.assert_clean()


def _frame_width(run_dir: Path, manifest: dict) -> int:
    from PIL import Image

    with Image.open(run_dir / manifest["frames"][0]["file"]) as image:
        return image.width


def test_schedules_t_slider_shows_the_manifest_frames(page, sites):
    """Every key moves the t slider; the clean image, both noised images and the four x0 estimates are
    the manifest's frames at that level, and the canvases hold exactly their pixels."""
    build, base_url = sites
    open_page(page, base_url, "schedules/")
    figure = page.locator('.nti-figure[data-kind="schedules"]')
    manifest = _model_manifest(build, figure, "schedules")
    axes = manifest["axes"]
    levels, kinds = axes["levels"], axes["schedules"]

    def expected(i, source):
        t = levels[i]
        return (
            [frame_file(manifest, "source", source=source)]
            + [frame_file(manifest, "noised", schedule=k, source=source, t=t) for k in kinds]
            + [frame_file(manifest, p, schedule=k, source=source, t=t) for k in kinds for p in ("x0_v", "x0_eps")]
        )

    source = axes["sources"][0]
    exercise_slider(page, figure, 0, lambda i: expected(i, source))
    run_dir = next(build["runs"].glob(f"{figure.get_attribute('data-model')}/schedules/*/"))
    if len(manifest["frames"]) and _frame_width(run_dir, manifest) <= 64:  # large frames show previews first
        assert_canvases_match_frames(figure, run_dir)
    # the chart's dots sit at the level on the slider, one per schedule on each chart
    assert figure.locator("svg.nti-schedules-chart circle.nti-schedule-dot").count() == 2 * len(kinds)
    if len(axes["sources"]) > 1:
        figure.locator(".nti-controls select").select_option("1")
        assert panel_frames(figure) == expected(slider_value(figure), axes["sources"][1])
    page.watch.assert_clean()


def test_forward_backward_sliders_walk_the_triangle(page, sites):
    build, base_url = sites
    open_page(page, base_url, "forward-backward/")
    figure = page.locator('.nti-figure[data-kind="forward_backward"]')
    manifest = _model_manifest(build, figure, "forward_backward")
    levels, steps = manifest["axes"]["levels"], manifest["axes"]["steps"]

    def expected_for(level_index, j):
        k = levels[level_index]
        return [
            frame_file(manifest, "original"),
            frame_file(manifest, "x", level=k, step=0),
            frame_file(manifest, "x", level=k, step=j),
            frame_file(manifest, "x", level=k, step=steps - k),
            frame_file(manifest, "diff", level=k),
        ]

    exercise_slider(page, figure, 0, lambda k: expected_for(k, min(slider_value(figure, 1), steps - levels[k])))
    figure.locator("[role=slider]").nth(0).focus()
    page.keyboard.press("Home")  # the longest row, so the step slider has the most positions
    exercise_slider(page, figure, 1, lambda j: expected_for(slider_value(figure, 0), j))
    page.watch.assert_clean()


def _flip_alternates(page, figure, manifest, seed):
    """Flip alternates the n2 and o2 panels in place between n1, o1 and n2, o2, captions following."""
    current = panel_frames(figure)
    figure.locator("button", has_text="Flip").click()
    seen = set()
    for _ in range(8):
        seen.add(
            tuple(
                figure.locator(".nti-pairs .nti-panel").evaluate_all(
                    "els => [els[1], els[4]].flatMap(e => [e.dataset.frame, e.querySelector('figcaption').textContent.slice(0, 2)])"
                )
            )
        )
        page.wait_for_timeout(250)
    n1, o1 = frame_file(manifest, "n1", seed=seed), frame_file(manifest, "o1", seed=seed)
    assert seen == {(n1, "n1", o1, "o1"), (current[1], "n2", current[4], "o2")}, seen
    assert len(panel_frames(figure)) == 6  # in place: no extra panels
    figure.locator("button", has_text="Flip").click()
    assert panel_frames(figure) == current


def test_patch_noise_size_slider_position_picker_and_flip(page, sites):
    build, base_url = sites
    open_page(page, base_url, page_of("patch_noise"))
    figure = page.locator('.nti-figure[data-kind="patch_noise"]')
    manifest = _model_manifest(build, figure, "patch_noise")
    axes = manifest["axes"]
    seed, sizes, positions = axes["seeds"][0], axes["sizes"], axes["positions"]
    state = {"position": 0}

    def expected(size_index, position=None):
        x, y = positions[state["position"] if position is None else position]
        cell = dict(seed=seed, size=sizes[size_index], x=x, y=y)
        return [
            frame_file(manifest, "n1", seed=seed),
            frame_file(manifest, "n2", **cell),
            frame_file(manifest, "heat_noise", **cell),
            frame_file(manifest, "o1", seed=seed),
            frame_file(manifest, "o2", **cell),
            frame_file(manifest, "heat_out", **cell),
        ]

    figure.locator(".nti-pos").nth(0).click()
    exercise_slider(page, figure, 0, expected)
    for index in range(len(positions)):
        figure.locator(".nti-pos").nth(index).click()
        state["position"] = index
        assert panel_frames(figure) == expected(slider_value(figure))
        assert figure.locator(".nti-pos").nth(index).get_attribute("aria-pressed") == "true"
    # clicking the noise image picks the nearest patch position
    x, y = positions[0]
    canvas = figure.locator(".nti-pickable canvas")
    box = canvas.bounding_box()
    size = sizes[slider_value(figure)]
    scale = box["width"] / axes["image_size"]
    page.mouse.click(box["x"] + (x + size / 2) * scale, box["y"] + (y + size / 2) * scale)
    state["position"] = 0
    assert panel_frames(figure) == expected(slider_value(figure))
    _flip_alternates(page, figure, manifest, seed)
    page.watch.assert_clean()


def test_mix_noise_scale_slider_chart_and_flip(page, sites):
    build, base_url = sites
    open_page(page, base_url, page_of("mix_noise"))
    figure = page.locator('.nti-figure[data-kind="mix_noise"]')
    manifest = _model_manifest(build, figure, "mix_noise")
    seed, scales = manifest["axes"]["seeds"][0], manifest["axes"]["scales"]

    def expected(i):
        cell = dict(seed=seed, scale=scales[i])
        return [
            frame_file(manifest, "n1", seed=seed),
            frame_file(manifest, "n2", **cell),
            frame_file(manifest, "heat_noise", **cell),
            frame_file(manifest, "o1", seed=seed),
            frame_file(manifest, "o2", **cell),
            frame_file(manifest, "heat_out", **cell),
        ]

    exercise_slider(page, figure, 0, expected)
    assert figure.locator("svg.nti-chart circle.nti-series-mix").count() == len(scales)
    patch = manifests(build["runs"])[(figure.get_attribute("data-model"), "patch_noise")]
    assert figure.locator("svg.nti-chart rect.nti-series-patch").count() == len(patch["axes"]["sizes"]) * len(
        patch["axes"]["positions"]
    )
    # the step-by-step chart draws the current cell's distances (its manifest metrics) and the other s faint
    thumb = figure.locator("[role=slider]").first
    thumb.press("End")
    metrics = next(
        f["metrics"]
        for f in manifest["frames"]
        if f["coords"].get("panel") == "n2" and f["coords"]["seed"] == seed and f["coords"]["scale"] == scales[-1]
    )
    drawn = figure.locator("polyline.nti-gap-x").get_attribute("points").split()
    assert len(drawn) == len(metrics["x_gap"]) == manifest["axes"]["steps"] + 1
    heights = [float(p.split(",")[1]) for p in drawn]  # SVG y grows downward: a larger distance is higher up
    order = np.argsort(metrics["x_gap"], kind="stable")
    assert all(heights[a] >= heights[b] - 1e-6 for a, b in zip(order, order[1:]))
    assert figure.locator(".nti-gap-family polyline").count() == len(scales) - 1
    _flip_alternates(page, figure, manifest, seed)
    page.watch.assert_clean()


def assert_canvases_match_frames(figure, run_dir: Path):
    """Pixels on screen equal the manifest frames: sheets (lossless WebP) decode exactly."""
    from PIL import Image

    shots = figure.locator(".nti-panels .nti-panel canvas").evaluate_all(
        "cs => cs.map(c => [c.dataset.frame, c.width, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)])"
    )
    assert shots
    for name, size, data in shots:
        got = np.array(data, dtype=np.uint8).reshape(size, size, 4)[..., :3]
        want = np.asarray(Image.open(run_dir / name).convert("RGB"))
        assert np.array_equal(got, want), f"{name}: canvas differs from the frame"


def test_model_switcher_swaps_runs(page, base_url, build):
    open_page(page, base_url, "reverse/")
    figure = page.locator('.nti-figure[data-kind="reverse"]')
    first = figure.get_attribute("data-model")
    is_grey = """f => { const c = f.querySelector('.nti-panel canvas'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                       for (let i = 0; i < d.length; i += 4) if (d[i] !== d[i + 1] || d[i] !== d[i + 2]) return false; return true; }"""
    before = figure.evaluate(is_grey)
    assert_canvases_match_frames(figure, next(build["runs"].glob(f"{first}/reverse/*/")))
    figure.locator(".nti-figure-head select").select_option("1")
    page.wait_for_function(f"() => document.querySelector('.nti-figure').dataset.model !== {json.dumps(first)}")
    second = figure.get_attribute("data-model")
    assert {first, second} == {slug for slug, e in manifests(build["runs"]) if e == "reverse"}
    assert figure.evaluate(is_grey) != before  # one model is greyscale, the other colour
    assert_canvases_match_frames(figure, next(build["runs"].glob(f"{second}/reverse/*/")))
    manifest = _model_manifest(build, figure, "reverse")
    seed = manifest["axes"]["seeds"][0]
    exercise_slider(
        page,
        figure,
        0,
        lambda i: [
            frame_file(manifest, "x", seed=seed, step=i),
            frame_file(manifest, "eps", seed=seed, step=i),
            frame_file(manifest, "x0", seed=seed, step=i),
            frame_file(manifest, "x", seed=seed, step=i + 1),
        ],
    )
    page.watch.assert_clean()


def test_instant_navigation_keeps_figures_working(page, base_url, build):
    open_page(page, base_url, "")
    page.evaluate("window.__ntiNoReload = true")
    for link, kind in (
        (page_of("reverse"), "reverse"),
        (page_of("mix_noise"), "mix_noise"),
        (page_of("step_counts"), "step_counts"),
    ):
        page.evaluate("window.scrollTo(0, 0)")  # the theme hides its tabs once the page is scrolled down
        page.wait_for_function("() => !document.querySelector('.md-tabs').hidden")
        page.locator(f"a.md-tabs__link[href$='{link}']").first.click()  # the lessons hide the side nav; tabs lead there
        # the path only: the figure may already have written its state into the address (share.js)
        page.wait_for_url(lambda url, link=link: urlparse(url).path.endswith(link))
        page.wait_for_function(READY)
        assert page.evaluate("window.__ntiNoReload === true"), "instant navigation fell back to a full reload"
        figure = page.locator(f'.nti-figure[data-kind="{kind}"]')
        mounted(figure)
        thumb = figure.locator("[role=slider]").first
        thumb.scroll_into_view_if_needed()
        thumb.focus()
        page.keyboard.press("End")
        assert slider_value(figure) == int(thumb.get_attribute("aria-valuemax"))
        frames = panel_frames(figure)
        assert frames and all(frames)
    page.go_back()
    page.wait_for_url(lambda url: urlparse(url).path.endswith(page_of("mix_noise")))
    page.wait_for_function(READY)
    # the address carries this page's figures' views only: a view write still pending when the
    # theme moved on once put the reverse figure's into this page's address
    assert set(parse_qs(urlparse(page.url).query)) <= {"mix_noise"}, page.url
    # the palette toggle switches to dark and back
    page.locator("label.md-header__button[for^='__palette']").first.click()
    assert page.evaluate("document.body.dataset.mdColorScheme") == "slate"
    page.watch.assert_clean()


def test_no_serious_accessibility_violations(browser, base_url):
    """axe on every page of the small site (light, and the dark scheme on two lessons). Not repeated on
    the 256-px site: its pages differ in frame sizes and preview sheets, which axe does not judge."""
    # axe is injected as an inline script, which our own CSP rightly forbids; bypass it for this audit only
    for scheme in ("light", "dark"):
        problems = {}
        with tab(browser, viewport={"width": 1280, "height": 900}, bypass_csp=True, color_scheme=scheme) as page:
            for name, path in PAGES.items():
                if scheme == "dark" and path not in (page_of("reverse"), page_of("mix_noise")):
                    continue
                open_page(page, base_url, path)
                page.add_script_tag(path=str(AXE))
                found = page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                    .filter(v => v.impact === 'serious' || v.impact === 'critical')
                    .map(v => `${v.id}: ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`)""")
                if found:
                    problems[f"{name} ({scheme})"] = found
        assert not problems, json.dumps(problems, indent=1)


def test_touch_tap_moves_the_slider_on_a_phone(browser, base_url, build):
    with tab(browser, viewport={"width": 375, "height": 812}, has_touch=True, is_mobile=True) as page:
        watch = Watch(page)
        open_page(page, base_url, "reverse/")
        figure = page.locator('.nti-figure[data-kind="reverse"]')
        manifest = _model_manifest(build, figure, "reverse")
        seed = manifest["axes"]["seeds"][0]
        track = figure.locator(".nti-slider-track").first
        track.scroll_into_view_if_needed()
        hi = int(figure.locator("[role=slider]").first.get_attribute("aria-valuemax"))
        for fraction in (0.83, 0.13):
            box = track.bounding_box()
            page.touchscreen.tap(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)
            want = js_round(fraction * hi)
            assert slider_value(figure) == want
            assert panel_frames(figure)[0] == frame_file(manifest, "x", seed=seed, step=want)
        watch.assert_clean()


def test_sheets_load_on_demand_and_a_missing_sheet_keeps_the_previous_frame(page, base_url, build):
    """First view: only the current seed's sheets; other seeds load on engagement, and a control that
    jumps to a frame whose sheet is not in yet keeps the old frame until it arrives (never blank)."""
    sheets = []
    page.on("request", lambda r: sheets.append(r.url) if "/frames/" in r.url else None)
    open_page(page, base_url, "reverse/")
    figure = page.locator('.nti-figure[data-kind="reverse"]')
    page.wait_for_load_state("networkidle")
    data = json.loads((build["site"] / "generated" / "reverse.json").read_text())
    model = next(m for m in data["models"] if m["slug"] == figure.get_attribute("data-model"))
    first_view = {s["url"].split("/", 1)[1] for s in model["sheets"] if s["group"] in (0, None)}
    assert {u.split("/frames/", 1)[1] for u in sheets} == {u.split("frames/", 1)[1] for u in first_view}
    manifest = _model_manifest(build, figure, "reverse")
    seeds = manifest["axes"]["seeds"]
    # switch seed without engaging (no pointer or focus): the new seed's sheet is not loaded yet
    before, during = (
        figure.evaluate("""f => { const before = Array.from(f.querySelectorAll('.nti-panels .nti-panel')).map(e => e.dataset.frame);
        const select = f.querySelector('.nti-controls select'); select.value = '1'; select.dispatchEvent(new Event('change'));
        return [before, Array.from(f.querySelectorAll('.nti-panels .nti-panel')).map(e => e.dataset.frame)]; }""")
    )
    assert during == before and all(during)
    want = frame_file(manifest, "x", seed=seeds[1], step=0)
    page.wait_for_function("w => document.querySelector('.nti-figure .nti-panel').dataset.frame === w", arg=want)
    page.watch.assert_clean()


def test_figures_far_below_the_fold_wait_until_scrolled_near(page, base_url):
    open_page(page, base_url, page_of("mix_noise"))
    page.wait_for_load_state("networkidle")
    states = page.locator(".nti-figure").evaluate_all(
        "els => els.map(e => ({ top: e.getBoundingClientRect().top, defer: e.dataset.defer === 'true' }))"
    )
    height = page.viewport_size["height"]
    for state in states:
        assert state["defer"] == (state["top"] > 1.5 * height + 50), states
    last = page.locator(".nti-figure").last
    last.scroll_into_view_if_needed()
    page.wait_for_function(READY.replace(" || f.dataset.defer === 'true'", ""))
    page.watch.assert_clean()


def test_switching_model_stops_the_previous_models_preload(page, base_url, build):
    """Once the reader picks another model, the previous one queues no further sheet requests: at
    most the (here: held) requests already in flight complete."""
    first_view = []
    page.on("request", lambda r: first_view.append(r.url) if "/forward_backward/sheet" in r.url else None)
    open_page(page, base_url, "forward-backward/")
    figure = page.locator('.nti-figure[data-kind="forward_backward"]')
    mounted(figure)
    page.wait_for_load_state("networkidle")
    first = figure.get_attribute("data-model")
    data = json.loads((build["site"] / "generated" / "forward_backward.json").read_text())
    sheets = next(m for m in data["models"] if m["slug"] == first)["sheets"]
    left_to_load = len(sheets) - len(set(first_view))
    held, requested = [], []

    def hold_first_models_sheets(route):
        if f"/frames/{first}/" in route.request.url:
            requested.append(route.request.url)
            held.append(route)  # answered only after the switch
        else:
            route.continue_()

    page.route("**/frames/**", hold_first_models_sheets)
    figure.hover()  # engage: the rest of the first model's sheets start loading, three at a time
    wait_until(figure, "f => f.dataset.sheets === 'loading'")
    page.wait_for_timeout(200)
    in_flight = len(requested)
    assert 1 <= in_flight <= 3 < left_to_load  # more sheets are left to queue: the test can fail
    figure.locator(".nti-figure-head select").select_option("1")
    wait_until(figure, f"f => f.dataset.model !== {json.dumps(first)}")
    for route in held:
        route.continue_()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    assert len(requested) == in_flight, "the previous model kept loading after the switch"
    page.watch.assert_clean()


def test_a_pointer_that_enters_before_the_figure_is_ready_still_engages_it(page, base_url, build):
    """The reader's pointer may already be on a figure while its data is still loading; once the
    first view is shown the rest of its sheets must load without another pointer event."""
    held = []
    page.route("**/generated/forward_backward.json", lambda route: held.append(route))
    page.goto(base_url + "forward-backward/")
    figure = page.locator('.nti-figure[data-kind="forward_backward"]')
    figure.scroll_into_view_if_needed()
    for _ in range(500):  # at most 10 s for the figure to ask for its data
        if held:
            break
        page.wait_for_timeout(20)
    assert held, "the figure never requested its data"
    figure.hover()  # pointerenter while the figure has no model yet
    assert figure.get_attribute("data-ready") != "true"
    held[0].continue_()
    page.wait_for_function("f => f.dataset.sheets === 'all'", arg=figure.element_handle(), timeout=10000)
    page.watch.assert_clean()


def _card_text(figure) -> str:
    """The open card's text, once built (its body is built on opening: a closed card holds nothing)."""
    wait_until(figure.locator("details.nti-prov"), "d => d.open && d.querySelector('.nti-prov-body dl') !== null")
    return figure.locator("details.nti-prov .nti-prov-body").inner_text()


def test_every_figure_has_a_how_this_was_made_card_that_opens_from_the_keyboard(page, base_url, build):
    """The card (provenance.js, Provenance) of every figure of a page: a <details> whose summary
    opens with Enter and closes with Space, showing the model on show and the command that makes its
    run again; switching the model switches the card."""
    runs = manifests(build["runs"])
    for path in (page_of("reverse"), page_of("patch_noise"), page_of("mix_noise")):
        open_page(page, base_url, path)
        figures = page.locator(".nti-figure")
        assert figures.count() >= 1
        for i in range(figures.count()):
            figure = figures.nth(i)
            mounted(figure)
            kind, slug = figure.get_attribute("data-kind"), figure.get_attribute("data-model")
            card = figure.locator("details.nti-prov")
            assert card.count() == 1 and not card.evaluate("d => d.open")
            summary = card.locator("summary")
            assert summary.inner_text().strip() == "How this was made"
            summary.focus()
            page.keyboard.press("Enter")
            assert card.evaluate("d => d.open")
            text = _card_text(figure)
            assert card.locator(".nti-prov-body").is_visible()
            assert card.get_attribute("data-model") == slug
            manifest = runs[(slug, kind)]
            assert slug in text and manifest["scheduler"]["class"] in text and manifest["run_key"] in text
            command = figure.locator(".nti-prov-command code").inner_text()
            assert command.startswith("python -m generate precompute --config ") and command.endswith(f"--only {kind}")
            assert manifest["model"]["path"] in command
            page.keyboard.press("Space")
            assert not card.evaluate("d => d.open")
    # the model switcher changes the card to the other model's run
    open_page(page, base_url, "reverse/")
    figure = page.locator('.nti-figure[data-kind="reverse"]')
    first = figure.get_attribute("data-model")
    figure.locator(".nti-figure-head select").select_option("1")
    wait_until(figure.locator("details.nti-prov"), f"d => d.dataset.model && d.dataset.model !== {json.dumps(first)}")
    second = figure.get_attribute("data-model")
    summary = figure.locator("details.nti-prov summary")
    summary.focus()
    page.keyboard.press("Enter")
    text = _card_text(figure)
    assert second in text and first not in text
    assert runs[(second, "reverse")]["model"]["path"] in figure.locator(".nti-prov-command code").inner_text()
    page.watch.assert_clean()


def test_a_card_opened_at_the_bottom_of_a_phone_screen_is_on_screen(browser, base_url):
    """On a phone the card sits under the figure's caption, which scrolls to the bottom of the screen:
    opened there, its content shows whole between the header and the screen's bottom edge (it opened
    below the screen before: the reader's walk of stop 31)."""
    with tab(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True) as page:
        watch = Watch(page)
        open_page(page, base_url, page_of("reverse"))
        card = page.locator('figure:has(.nti-figure[data-kind="reverse"]) details.nti-prov')
        assert card.count() == 1
        card.evaluate(
            "d => window.scrollBy(0, d.getBoundingClientRect().bottom - document.documentElement.clientHeight + 2)"
        )
        card.locator("summary").click()
        wait_until(card, "d => d.open && d.querySelector('.nti-prov-body dl') !== null")
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        top, bottom = card.locator(".nti-prov-body").evaluate(
            "b => [b.getBoundingClientRect().top, b.getBoundingClientRect().bottom]"
        )
        header, height = page.evaluate(
            "[document.querySelector('.md-header').getBoundingClientRect().bottom, document.documentElement.clientHeight]"
        )
        assert header - 0.5 <= top and bottom <= height + 0.5, (top, bottom, header, height)
        watch.assert_clean()


def test_the_maths_fold_out_opens_from_the_keyboard_and_its_equations_are_drawn(browser, base_url):
    """Every lesson's "The maths": opens with Enter on its summary, every <math> has a box of its own
    size (Chromium lays MathML out: a fraction is taller than a line of text), and on a phone an
    opened fold-out never makes the page wider than the screen (a wide equation scrolls by itself)."""
    for width, height in ((1280, 900), (375, 812)):
        with tab(browser, viewport={"width": width, "height": height}) as page:
            watch = Watch(page)
            for name in lesson_paths():
                open_page(page, base_url, name)
                fold = page.locator("details.nti-maths")
                assert fold.count() == 1, name
                summary = fold.locator("summary")
                summary.scroll_into_view_if_needed()
                summary.focus()
                page.keyboard.press("Enter")
                assert fold.evaluate("d => d.open"), name
                boxes = fold.locator("math").evaluate_all(
                    "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })"
                )
                assert boxes and all(w > 0 and h > 0 for w, h in boxes), name
                line = fold.locator(".nti-eq-where").first.evaluate(
                    "e => parseFloat(getComputedStyle(e).lineHeight) || 16"
                )
                fractions = fold.locator("mfrac").evaluate_all("els => els.map(e => e.getBoundingClientRect().height)")
                assert all(h > line for h in fractions), name  # laid out as maths, not as a line of text
                assert page.evaluate("document.documentElement.scrollWidth") <= width, (
                    f"{name}: opened maths overflow {width} px"
                )
            watch.assert_clean()


def test_the_overview_shows_noise_to_image_with_one_slider(page, build, base_url):
    """The first screen's picture of the whole idea: one slider from pure noise to the finished sample
    (the reverse run of the first model), beside the network's guess at each step, and a strip of the
    image at six steps that shows the whole way before the reader touches anything."""
    open_page(page, base_url, "")
    figure = page.locator('.nti-figure[data-kind="overview"]')
    mounted(figure)
    assert figure.evaluate("f => f.getBoundingClientRect().top") < page.viewport_size["height"]  # on the first screen
    manifest = manifests(build["runs"])[(figure.get_attribute("data-model"), "reverse")]
    steps, seed = int(manifest["axes"]["steps"]), manifest["axes"]["seeds"][0]
    assert figure.locator("[role=slider]").count() == 1
    assert panel_frames(figure) == [
        frame_file(manifest, "x", seed=seed, step=0),
        frame_file(manifest, "x0", seed=seed, step=0),
    ]
    thumb = figure.locator("[role=slider]")
    thumb.focus()
    page.keyboard.press("End")
    assert panel_frames(figure) == [
        frame_file(manifest, "x", seed=seed, step=steps),
        frame_file(manifest, "x0", seed=seed, step=steps - 1),
    ]
    page.keyboard.press("ArrowLeft")
    assert panel_frames(figure)[0] == frame_file(manifest, "x", seed=seed, step=steps - 1)
    # the whole way in one picture, before any interaction: the image at six evenly spaced steps
    marks = [round(k * steps / 5) for k in range(6)]
    strip = figure.locator(".nti-thumb-row .nti-panel")
    assert strip.evaluate_all("els => els.map(e => e.dataset.frame)") == [
        frame_file(manifest, "x", seed=seed, step=i) for i in marks
    ]
    strip.nth(2).locator("canvas").click()  # a click on one goes there
    assert slider_value(figure) == marks[2] and strip.nth(2).get_attribute("aria-current") == "step"
    page.watch.assert_clean()


def test_on_a_short_screen_each_step_leads_to_the_figure_and_back(browser, base_url):
    """Where a figure cannot be pinned (a 1280x800 window at 200 % zoom: 640x400 CSS px), it scrolls
    away with the text. Each step then offers "See it in the figure": the figure takes the step's
    state and comes into view below the header; its "Back to the text" returns to that step. Where
    the figure is pinned the buttons are not shown."""
    from test_browser_layout import _expected_state

    with tab(browser, viewport={"width": 640, "height": 400}, device_scale_factor=2) as page:
        watch = Watch(page)
        unpinned = 0
        for path in lesson_paths():
            page.goto(base_url + path)
            section = page.locator(".nti-scrolly").first
            figure = section.locator(".nti-figure")
            figure.scroll_into_view_if_needed()
            wait_until(figure, "f => f.dataset.ready === 'true'", timeout=20000)
            steps = section.locator(".nti-step[data-state]")
            if "nti-unpinned" not in (section.get_attribute("class") or ""):
                assert not steps.first.locator(".nti-step-show").is_visible()
                continue
            unpinned += 1
            step = steps.nth(steps.count() - 1)
            step.scroll_into_view_if_needed()
            show = step.locator(".nti-step-show")
            assert show.is_visible(), path
            show.click()
            header = page.locator(".md-header").bounding_box()
            box = figure.bounding_box()
            assert header["y"] + header["height"] - 1 <= box["y"] < 400, (path, box)  # in view, under the header
            for what, shown, wanted in _expected_state(figure, json.loads(step.get_attribute("data-state"))):
                assert shown == wanted, (path, what, shown, wanted)  # the figure is in the step's state
            back = figure.locator(".nti-back-to-text")
            assert back.is_visible() and back.evaluate("b => b === document.activeElement")
            back.click()
            top = step.bounding_box()["y"]
            assert header["y"] + header["height"] - 1 <= top < 400, (path, top)
        assert unpinned, "no figure was unpinned at 640x400: the test checks nothing"
        watch.assert_clean()
