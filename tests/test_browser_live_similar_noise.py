"""Live mode in the similar-noise figures (live-similar-noise.js): the square dragged and resized on the seed's
noise, any s and pair of seeds, sampled in the reader's browser.

Mechanics on the session's small build (tiny random models, 3 DDIM steps): nothing of the numerics
loads before live mode opens; drag and keys move and resize the square; Run gives the six live panels
and both distances; the mix figure's chart gets a live point and its legend entry; Cancel stops; where
live mode cannot run, each figure says so in one line and works as before.
Reproduction on the shipped models (default runs, NTI_DEFAULT_RUNS): a live run at a precomputed cell
remakes its frames within 2 levels (heatmaps: of their viridis index) and its distances within 1e-2 (printed; `pytest -s` shows them).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from site_support import CHROMIUM, default_site, frame_file, page_of, served, tab, viridis_index, wait_until
from test_browser import READY, Watch

pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"), pytest.mark.slow]

FINISHED = "el => ['done', 'error', 'cancelled'].includes(el.dataset.state)"
PANELS = ("n1", "n2", "heat_noise", "o1", "o2", "heat_out")  # the live grid's order


@pytest.fixture
def page(browser):
    with tab(browser, viewport={"width": 1280, "height": 900}) as page:
        page.watch = Watch(page)
        page.requests = []
        page.on("request", lambda r: page.requests.append(r.url))
        yield page


def _figure(page, url, kind):
    page.goto(url + page_of(kind))
    page.wait_for_function(READY, timeout=15000)
    figure = page.locator(f'.nti-figure[data-kind="{kind}"]')
    figure.scroll_into_view_if_needed()
    wait_until(figure, "f => f.dataset.ready === 'true'")
    return figure


def _open(figure):
    live = figure.locator(".nti-live")
    if live.locator(".nti-live-off").count() or not live.locator(".nti-live-toggle").count():
        pytest.skip("live mode is not available in this build: " + figure.locator(".nti-live-off").inner_text())
    live.locator(".nti-live-toggle").click()
    live.locator(".nti-live-form").wait_for()  # the form's module is imported on this first press (live.js lazy)
    return live


def _run(live, timeout=120000):
    live.locator(".nti-live-run").click()
    wait_until(live, FINISHED, timeout)
    assert live.get_attribute("data-state") == "done", live.locator(".nti-live-status").inner_text()


def _calls(live) -> int:
    return int(re.search(r"(\d+) network call", live.locator(".nti-live-status").inner_text()).group(1))


def _patch(live):
    wrap = live.locator(".nti-live-patch-wrap")
    return tuple(int(wrap.get_attribute(f"data-{k}")) for k in ("x", "y", "size"))


def _live_pixels(live) -> dict[str, np.ndarray]:
    """The live panels' pixels (H, W, 3), by name."""
    arrays = live.locator(".nti-live-pairs canvas").evaluate_all(
        "cs => cs.map(c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data))"
    )
    sizes = live.locator(".nti-live-pairs canvas").evaluate_all("cs => cs.map(c => c.width)")
    return {name: np.array(a, dtype=np.int16).reshape(s, s, 4)[..., :3] for name, a, s in zip(PANELS, arrays, sizes)}


def test_patch_mechanics_drag_keys_run_cancel(page, base_url):
    figure = _figure(page, base_url, "patch_noise")
    assert not [u for u in page.requests if "/live/" in u], "live numerics loaded with the page"
    live = _open(figure)
    live.locator(".nti-live-noise-canvas").wait_for()
    assert [u for u in page.requests if u.endswith("/live/randn.js")], "opening live mode loads randn.js"
    x0, y0, s0 = _patch(live)
    assert s0 >= 1
    # drag the square by a quarter of the canvas to the right and down
    square, canvas = live.locator(".nti-live-patch").bounding_box(), live.locator(".nti-live-patch-wrap").bounding_box()
    page.mouse.move(square["x"] + 2, square["y"] + 2)
    page.mouse.down()
    page.mouse.move(square["x"] + 2 + canvas["width"] / 4, square["y"] + 2 + canvas["height"] / 4, steps=4)
    page.mouse.up()
    x1, y1, s1 = _patch(live)
    side = int(live.locator(".nti-live-noise-canvas").get_attribute("width"))
    assert (x1, y1, s1) != (x0, y0, s0) and x1 > x0 and y1 > y0 and s1 == s0
    assert abs(x1 - x0 - side / 4) <= 1.5 and abs(y1 - y0 - side / 4) <= 1.5
    # keyboard: arrows move, Shift+arrows and + / - resize; the fields follow
    box = live.locator(".nti-live-patch")
    box.press("ArrowLeft")
    assert _patch(live) == (x1 - 1, y1, s1)
    box.press("Shift+ArrowRight")
    box.press("+")
    assert _patch(live) == (x1 - 1, y1, s1 + 2)
    box.press("-")
    assert _patch(live) == (x1 - 1, y1, s1 + 1)
    assert live.locator("input").nth(3).input_value() == str(s1 + 1)  # seed, x, y, size
    # the size handle resizes
    handle = live.locator(".nti-live-patch-handle").bounding_box()
    page.mouse.move(handle["x"] + 3, handle["y"] + 3)
    page.mouse.down()
    page.mouse.move(
        handle["x"] + 3 + canvas["width"] / side * 2, handle["y"] + 3 + canvas["height"] / side * 2, steps=3
    )
    page.mouse.up()
    assert _patch(live)[2] > s1 + 1
    # a field moves the square, clamped inside the image
    live.locator("input").nth(1).fill("999")
    live.locator("input").nth(1).dispatch_event("change")
    x, y, s = _patch(live)
    assert x == side - s
    _run(live)
    result = live.locator(".nti-live-result")
    assert "Computed live in your browser" in result.inner_text()
    assert result.locator("canvas").count() == 6
    assert float(result.get_attribute("data-noise-distance")) > 0
    assert float(result.get_attribute("data-output-distance")) >= 0
    assert "noise distance" in result.locator(".nti-live-distances").inner_text()
    # Cancel: a new seed (no cached o1), cancelled at once
    live.locator("input").first.fill("12345")
    live.evaluate(
        "el => { el.querySelector('.nti-live-run').click(); el.querySelector('.nti-live-cancel').click(); }"
    )  # a tiny model's run outpaces a second click
    wait_until(live, FINISHED)
    assert live.get_attribute("data-state") == "cancelled"
    assert not page.watch.errors, page.watch.errors


def test_mix_run_adds_a_live_point_to_the_chart(page, base_url):
    figure = _figure(page, base_url, "mix_noise")
    chart = figure.locator(".nti-chart-row .nti-distance-chart").first
    assert chart.locator(".nti-series-live").count() == 0
    live = _open(figure)
    assert "next draw" in live.inner_text() and "other seed" in live.inner_text()
    inputs = live.locator("input")
    inputs.nth(0).fill("3")
    inputs.nth(1).fill("7")  # another seed's start noise as n'
    inputs.nth(2).fill("0.375")  # rounded to 0.01
    _run(live)
    result = live.locator(".nti-live-result")
    assert result.get_attribute("data-scale") == "0.38" and result.get_attribute("data-other") == "7"
    assert result.locator("canvas").count() == 6
    chart = figure.locator(".nti-chart-row .nti-distance-chart").first
    assert chart.locator(".nti-series-live").count() == 1
    assert "live" in figure.locator(".nti-chart-row .nti-legend-live").inner_text()
    calls = _calls(live)
    inputs.nth(1).fill("3")  # the same seed: n' its next draw, o1 from the cache (half the calls)
    _run(live)
    assert figure.locator(".nti-chart-row .nti-distance-chart").first.locator(".nti-series-live").count() == 2
    assert _calls(live) * 2 == calls
    assert not page.watch.errors, page.watch.errors


def test_where_live_mode_cannot_run_the_figures_say_so_and_work(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script("delete window.Worker;")
    page = context.new_page()
    page.watch = Watch(page)
    try:
        for kind in ("patch_noise", "mix_noise"):
            figure = _figure(page, base_url, kind)
            off = figure.locator(".nti-live-off")
            assert off.count() == 1 and off.inner_text().startswith("Live mode unavailable")
            assert figure.locator(".nti-live-toggle").count() == 0
            assert figure.locator(".nti-pairs canvas").count() >= 6  # the precomputed figure as before
            assert figure.locator(".nti-pairs .nti-panel[data-frame]").count() >= 6
        assert not page.watch.errors, page.watch.errors
    finally:
        context.close()


# --- reproduction on the shipped models ------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped():
    site = default_site()
    runs = {}
    for path in sorted(site["runs"].glob("*/*/*/manifest.json")):
        manifest = json.loads(path.read_text())
        runs[(manifest["model"]["slug"], manifest["experiment"])] = (path.parent, manifest)
    if not any(exp == "live" for _, exp in runs):
        pytest.skip("the default runs have no live export")
    return {"url": served(site), "runs": runs}


def _choose_model(figure, slug):
    picker = figure.locator(".nti-figure-head select")
    if figure.get_attribute("data-model") != slug:
        values = picker.locator("option").evaluate_all("os => os.map(o => o.value)")
        labels = picker.locator("option").all_inner_texts()
        picker.select_option(values[next(i for i, t in enumerate(labels) if slug in t)])
        wait_until(figure, f"f => f.dataset.model === {slug!r} && f.dataset.ready === 'true'")


def _levels(name: str, live: np.ndarray, want: np.ndarray) -> int:
    """Largest difference in 8-bit levels: of the pixels, or for a heatmap of its viridis index (one
    index step moves a colour by up to 3 RGB levels, so RGB would overstate a one-level change)."""
    if not name.startswith("heat"):
        return int(np.abs(live - want).max())
    return int(np.abs(viridis_index(live) - viridis_index(want)).max())


def _png(folder: Path, file: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO((folder / file).read_bytes())).convert("RGB"), dtype=np.int16)


# One shipped model each (the browser's ONNX run is about 17 s of the 2-core machine per model): the
# patch on the colour model, the mix on the grey one, so both channel layouts are remade; the code
# path of the two models is otherwise the same.
@pytest.mark.parametrize("slug", ["emoji-32"])
def test_a_live_patch_run_remakes_the_precomputed_cell(page, shipped, slug):
    folder, manifest = shipped["runs"][(slug, "patch_noise")]
    seed, size, x, y = 1, 8, 8, 8
    assert size in manifest["axes"]["sizes"] and [x, y] in manifest["axes"]["positions"]
    figure = _figure(page, shipped["url"], "patch_noise")
    _choose_model(figure, slug)
    live = _open(figure)
    inputs = live.locator("input")  # seed, x, y, size
    for i, value in enumerate((seed, x, y, size)):
        inputs.nth(i).fill(str(value))
        inputs.nth(i).dispatch_event("change")
    assert _patch(live) == (x, y, size)
    _run(live)
    pixels = _live_pixels(live)
    worst = {}
    for name in PANELS:
        coords = {"seed": seed} if name in ("n1", "o1") else {"seed": seed, "size": size, "x": x, "y": y}
        want = _png(folder, frame_file(manifest, name, **coords))
        worst[name] = _levels(name, pixels[name], want)
    print(f"\n{slug} patch seed {seed}, {size} px at ({x}, {y}): max |live - precomputed| levels {worst}")
    assert max(worst.values()) <= 2, worst
    metrics = next(
        f["metrics"]
        for f in manifest["frames"]
        if f["coords"].get("panel") == "n2"
        and f["coords"]["seed"] == seed
        and f["coords"]["size"] == size
        and [f["coords"]["x"], f["coords"]["y"]] == [x, y]
    )
    result = live.locator(".nti-live-result")
    for key, attr in (("noise_distance", "data-noise-distance"), ("output_distance", "data-output-distance")):
        assert abs(float(result.get_attribute(attr)) - metrics[key]) < 1e-2


@pytest.mark.parametrize("slug", ["fashion-32"])
def test_a_live_mix_run_remakes_the_precomputed_distances(page, shipped, slug):
    folder, manifest = shipped["runs"][(slug, "mix_noise")]
    seed, scale = 2, 0.3
    assert scale in manifest["axes"]["scales"]
    figure = _figure(page, shipped["url"], "mix_noise")
    _choose_model(figure, slug)
    live = _open(figure)
    inputs = live.locator("input")  # seed of n1, seed of n', s
    for i, value in enumerate((seed, seed, scale)):
        inputs.nth(i).fill(str(value))
    _run(live)
    metrics = next(
        f["metrics"]
        for f in manifest["frames"]
        if f["coords"].get("panel") == "n2" and f["coords"]["seed"] == seed and f["coords"]["scale"] == scale
    )
    result = live.locator(".nti-live-result")
    got = {
        "noise_distance": float(result.get_attribute("data-noise-distance")),
        "output_distance": float(result.get_attribute("data-output-distance")),
    }
    diffs = {k: abs(got[k] - metrics[k]) for k in got}
    pixels = _live_pixels(live)
    levels = {
        name: _levels(name, pixels[name], _png(folder, frame_file(manifest, name, seed=seed, scale=scale)))
        for name in ("n2", "o2", "heat_noise", "heat_out")
    }
    print(
        f"\n{slug} mix seed {seed}, s = {scale}: live {got}, |live - precomputed| {diffs}; frames max levels {levels}"
    )
    assert max(diffs.values()) < 1e-2, diffs
    assert max(levels.values()) <= 2, levels
    assert figure.locator(".nti-chart-row .nti-distance-chart").first.locator(".nti-series-live").count() == 1
