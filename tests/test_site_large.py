"""A site of 256-px frames (the seed's image size) stays light: preview sheets, small sheets, half-size
panels; the same figures and keyboard sliders, the same frames on screen.

The model is random (noise compresses worst) and narrow (seconds on a CPU), on the smoke grids.
"""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest
from PIL import Image
from site_support import frame_file, large_site, lesson_paths, manifests, served, tab, wait_until

pytestmark = pytest.mark.slow  # left out of `make test-fast`


PAGE_BUDGET = 1_600_000
LESSONS = tuple(lesson_paths())


@pytest.fixture(scope="module")
def large():
    return large_site()


@pytest.fixture(scope="module")
def base(large):
    return served(large)  # the session's server of this site (test_browser_layout shares it)


def _figure(large, experiment: str) -> dict:
    (model,) = json.loads((large["site"] / "generated" / f"{experiment}.json").read_text())["models"]
    return model


def test_every_sheet_has_a_half_size_preview_close_to_the_frames(large):
    model = _figure(large, "reverse")
    run_dir = next(large["runs"].glob("*/reverse/*/"))
    refs = [ref for seed in model["seeds"] for panel in ("x", "eps", "x0") for ref in seed[panel]]
    assert all(sheet["preview"]["size"] == 128 and sheet["count"] <= 8 for sheet in model["sheets"])
    for sheet_index, cell, name in refs[::5]:
        sheet = model["sheets"][sheet_index]
        preview = Image.open(large["site"] / "generated" / sheet["preview"]["url"]).convert("RGB")
        x, y = (cell % sheet["cols"]) * 128, (cell // sheet["cols"]) * 128
        got = np.asarray(preview.crop((x, y, x + 128, y + 128)), dtype=np.float64)
        want = np.asarray(Image.open(run_dir / name).convert("RGB").reduce(2), dtype=np.float64)
        assert np.abs(got - want).mean() < 12, name  # lossy, but the same picture
        exact = Image.open(large["site"] / "generated" / sheet["url"]).convert("RGB")
        x, y = (cell % sheet["cols"]) * 256, (cell // sheet["cols"]) * 256
        assert np.array_equal(
            np.asarray(exact.crop((x, y, x + 256, y + 256))), np.asarray(Image.open(run_dir / name).convert("RGB"))
        ), name
    # A quarter of the pixels, lossy: at least 3x lighter on this random-weight model, whose reverse frames
    # are noise from x_T (t = T - 1) on, the content JPEG saves least on (real 256-px models' frames are smooth)
    assert sum(s["preview"]["bytes"] for s in model["sheets"]) * 3 < sum(s["bytes"] for s in model["sheets"])


def test_the_triangle_mosaics_use_reduced_cells(large):
    triangle = _figure(large, "forward_backward")["triangle"]
    assert triangle["cell"] == 32 and triangle["full"]["width"] < 1000


@contextlib.contextmanager
def _open(browser, url: str, scale: float = 1, own_context: bool = False):
    """The page at `url`, its figures ready and the network idle: (page, bytes by URL, errors). A lent
    page (site_support.tab), or with own_context a context of its own (a test that changes the
    device's metrics through the DevTools protocol, which would outlive it)."""
    options = {"viewport": {"width": 1280, "height": 900}, "device_scale_factor": scale}
    if own_context:
        context = browser.new_context(**options)
        try:
            yield _load(context.new_page(), url)
        finally:
            context.close()
    else:
        with tab(browser, **options) as page:
            yield _load(page, url)


def _load(page, url: str):
    sizes, errors = {}, []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    def finished(request):
        try:
            sizes[request.url] = request.sizes()["responseBodySize"]
        except Exception:
            pass

    page.on("requestfinished", finished)
    page.goto(url)
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.nti-figure')).every("
        "f => f.dataset.ready === 'true' || f.dataset.defer === 'true')",
        timeout=30000,
    )
    page.wait_for_load_state("networkidle")
    return page, sizes, errors


@pytest.mark.parametrize("path", LESSONS)
def test_each_page_stays_within_the_budget_and_loads_previews(browser, base, path):
    with _open(browser, base + path) as (page, sizes, errors):
        assert sum(sizes.values()) <= PAGE_BUDGET, (path, sum(sizes.values()))
        sheets = [url for url in sizes if "/frames/" in url and "sheet" in url]
        assert sheets and all(".preview." in url for url in sheets), sheets
        assert not errors, errors


def test_the_reverse_figure_shows_the_manifest_frames_at_half_size_and_answers_the_keys(browser, base, large):
    manifest = next(m for (slug, experiment), m in manifests(large["runs"]).items() if experiment == "reverse")
    seed = manifest["axes"]["seeds"][0]
    with _open(browser, base + "reverse/") as (page, _, errors):
        figure = page.locator(".nti-figure[data-kind=reverse]")
        wait_until(figure, "f => f.dataset.ready === 'true'")
        panel = figure.locator(".nti-panels .nti-panel").first
        assert panel.get_attribute("data-frame") == frame_file(manifest, "x", seed=seed, step=0)
        canvas = panel.locator("canvas")
        assert canvas.evaluate("c => [c.width, c.getBoundingClientRect().width]") == [128, 128]
        thumb = figure.locator("[role=slider]").first
        thumb.focus()
        # focusing may scroll the page, and the text's step in view then moves the figure: start from there
        page.wait_for_timeout(300)
        start, top = int(thumb.get_attribute("aria-valuenow")), manifest["axes"]["steps"] - 1
        key, step = ("ArrowRight", start + 1) if start < top else ("ArrowLeft", start - 1)
        page.keyboard.press(key)
        wait_until(panel, f"p => p.dataset.frame === {json.dumps(frame_file(manifest, 'x', seed=seed, step=step))}")
        page.keyboard.press("End")
        last = manifest["axes"]["steps"] - 1
        wait_until(panel, f"p => p.dataset.frame === {json.dumps(frame_file(manifest, 'x', seed=seed, step=last))}")
        assert not errors, errors


def test_a_dense_screen_gets_the_exact_sheets(browser, base):
    with _open(browser, base + "reverse/", scale=2) as (page, sizes, _):
        canvas = page.locator(".nti-figure[data-kind=reverse] .nti-panels .nti-panel canvas").first
        assert canvas.evaluate("c => c.width") == 256  # every pixel of the frame: the screen can show it
        sheets = [url for url in sizes if "/frames/" in url and "sheet" in url]
        assert sheets and not any(".preview." in url for url in sheets)


def test_zooming_in_swaps_the_previews_for_the_exact_frames(browser, base, large):
    """200 % zoom on a 1280-px window: half the CSS width, twice the density. The panels on screen
    repaint from the exact sheets, and the keys keep answering with them."""
    manifest = next(m for (slug, experiment), m in manifests(large["runs"]).items() if experiment == "reverse")
    seed = manifest["axes"]["seeds"][0]
    with _open(browser, base + "reverse/", own_context=True) as (page, sizes, errors):
        canvas = page.locator(".nti-figure[data-kind=reverse] .nti-panels .nti-panel canvas").first
        assert canvas.evaluate("c => c.width") == 128
        before = set(sizes)
        cdp = page.context.new_cdp_session(page)
        cdp.send(
            "Emulation.setDeviceMetricsOverride", {"width": 640, "height": 450, "deviceScaleFactor": 2, "mobile": False}
        )
        wait_until(canvas, "c => c.width === 256")
        # the sheet is drawn as soon as it decodes; its "requestfinished" event (which fills `sizes`)
        # may reach this process a moment later on a loaded machine: wait for it, boundedly
        fetched = []
        for _ in range(50):
            fetched = [url for url in set(sizes) - before if "/frames/" in url and "sheet" in url]
            if fetched:
                break
            page.wait_for_timeout(100)
        assert fetched and not any(".preview." in url for url in fetched), fetched
        panel = page.locator(".nti-figure[data-kind=reverse] .nti-panels .nti-panel").first
        page.locator(".nti-figure[data-kind=reverse] [role=slider]").first.focus()
        page.keyboard.press("ArrowRight")
        wait_until(panel, f"p => p.dataset.frame === {json.dumps(frame_file(manifest, 'x', seed=seed, step=1))}")
        assert canvas.evaluate("c => c.width") == 256
        assert not errors, errors
