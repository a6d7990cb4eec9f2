"""The forward/backward triangle of images in headless Chromium: clicking a cell (or Enter / Space on
the focused cell, reached with Tab and moved with the arrow keys) sets both sliders and shows exactly
that manifest frame; the grid is the mosaic drawn at an integer scale with each button on its cell; the
full triangle is a link to an existing image that the page never requests by itself; no horizontal
overflow on a desktop or a phone."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from urllib.parse import urlparse

import pytest
from PIL import Image
from site_support import CHROMIUM, frame_file, manifests, tab, wait_until

FIGURE = '.nti-figure[data-kind="forward_backward"]'

pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"), pytest.mark.slow]


@contextlib.contextmanager
def opened(browser, width=1280, height=900):
    """A lent page (site_support.tab) that records console errors and every URL it requests (nothing
    may leave localhost)."""
    with tab(browser, viewport={"width": width, "height": height}) as page:
        yield watched(page)


def watched(page):
    page.errors, page.requests = [], []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("request", lambda r: page.requests.append(r.url))

    def route(r):
        if urlparse(r.request.url).hostname not in ("127.0.0.1", "localhost") and not r.request.url.startswith("data:"):
            page.errors.append(f"external request {r.request.url}")
            return r.abort()
        return r.continue_()

    page.route("**/*", route)
    return page


@pytest.fixture
def page(browser):
    with opened(browser) as page:
        yield page


def open_figure(page, base_url):
    page.goto(base_url + "forward-backward/")
    figure = page.locator(FIGURE)
    figure.scroll_into_view_if_needed()
    wait_until(figure, "f => f.dataset.ready === 'true'")
    # the grid mosaic has arrived and its cells are on the canvas
    page.wait_for_function(
        "f => f.querySelector('.nti-tri') && f.querySelector('.nti-tri').dataset.painted === 'true'",
        arg=figure.element_handle(),
    )
    return figure


def model_data(build, figure) -> tuple[dict, dict]:
    slug = figure.get_attribute("data-model")
    data = json.loads((build["site"] / "generated" / "forward_backward.json").read_text())
    return next(m for m in data["models"] if m["slug"] == slug), manifests(build["runs"])[(slug, "forward_backward")]


def sliders(figure) -> list[int]:
    return [
        int(v)
        for v in figure.locator("[role=slider]").evaluate_all("els => els.map(e => e.getAttribute('aria-valuenow'))")
    ]


def current_frame(page, figure, want: str) -> str:
    """The 'while denoising' panel's frame once it shows `want` (its sheet may still be on its way)."""
    handle = figure.element_handle()
    try:
        page.wait_for_function(
            "([f, w]) => f.querySelectorAll('.nti-panel')[2].dataset.frame === w", arg=[handle, want], timeout=5000
        )
    except Exception:
        pass
    return figure.locator(".nti-panel").nth(2).get_attribute("data-frame")


def cell(figure, k: int, j: int):
    return figure.locator(f'.nti-tri-cell[data-level="{k}"][data-step="{j}"]')


def test_clicking_a_cell_sets_both_sliders_and_shows_that_run(page, base_url, build):
    figure = open_figure(page, base_url)
    model, manifest = model_data(build, figure)
    grid, levels = model["triangle"]["grid"], [level["level"] for level in model["levels"]]
    size, pitch = model["triangle"]["cell"], model["triangle"]["cell"] + model["triangle"]["gap"]
    assert figure.locator(".nti-tri").get_attribute("data-rows") == str(len(grid["rows"]))  # room for every row here
    image = figure.locator(".nti-tri-img").bounding_box()
    scale = image["width"] / grid["width"]
    assert scale == int(scale) >= 1 and image["height"] == grid["height"] * scale  # integer scale: pixels even
    # the canvas holds the mosaic's cells pixel for pixel (here all of them, so it equals the mosaic)
    drawn = figure.locator(".nti-tri-img").evaluate(
        "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"
    )
    mosaic = Image.open(build["site"] / "generated" / grid["url"]).convert("RGBA")
    assert drawn == list(mosaic.tobytes())
    cells = [(r, c, k, m) for r, k in enumerate(grid["rows"]) for c, m in enumerate(grid["cols"]) if m >= k]
    assert figure.locator(".nti-tri-cell").count() == len(cells)
    # corners of the triangle and one cell inside: the last row's reconstruction, the noisiest start, the top-right
    picks = [
        cells[-1],
        cells[0],
        next(x for x in cells if x[0] == 0 and x[1] == len(grid["cols"]) - 1),
        cells[len(cells) // 2],
    ]
    for r, c, k, m in picks:
        target = cell(figure, k, m - k)
        box = target.bounding_box()  # the button covers exactly its cell of the mosaic
        assert (
            abs(box["x"] - image["x"] - c * pitch * scale) < 0.01
            and abs(box["y"] - image["y"] - r * pitch * scale) < 0.01
        )
        assert box["width"] == box["height"] == size * scale
        target.click()
        assert sliders(figure) == [levels.index(k), m - k]
        want = frame_file(manifest, "x", level=k, step=m - k)
        assert current_frame(page, figure, want) == want
        assert target.get_attribute("aria-current") == "true"
        marker = figure.locator(".nti-tri-marker")
        assert marker.bounding_box() == box and "nti-tri-near" not in marker.get_attribute("class")
    assert figure.locator(".nti-tri-cell[aria-current]").count() == 1
    assert not page.errors, page.errors


def test_cells_are_reached_with_tab_moved_with_arrows_and_activated_with_enter_or_space(page, base_url, build):
    figure = open_figure(page, base_url)
    model, manifest = model_data(build, figure)
    grid, levels = model["triangle"]["grid"], [level["level"] for level in model["levels"]]
    # both sliders to their start with the keyboard (the reader takes over from the text)
    for thumb in (figure.locator("[role=slider]").nth(1), figure.locator("[role=slider]").first):
        thumb.focus()
        page.keyboard.press("Home")
    assert sliders(figure) == [0, 0]
    # one tab stop for the whole grid: the current run's cell
    assert figure.locator('.nti-tri-cell[tabindex="0"]').count() == 1
    page.keyboard.press("Shift+Tab")  # back from the first slider: over the full-triangle link into the grid
    page.keyboard.press("Shift+Tab")
    focused = page.evaluate("() => document.activeElement.className")
    assert "nti-tri-cell" in focused, focused
    k0 = grid["rows"][0]
    assert page.evaluate("() => [+document.activeElement.dataset.level, +document.activeElement.dataset.step]") == [
        k0,
        0,
    ]
    # Right twice, Down once: the second row, at the same sampling step where that row has it
    for key in ("ArrowRight", "ArrowRight", "ArrowDown"):
        page.keyboard.press(key)
    k1 = grid["rows"][1]
    m = grid["cols"][2] if grid["cols"][2] >= k1 else k1
    assert page.evaluate("() => [+document.activeElement.dataset.level, +document.activeElement.dataset.step]") == [
        k1,
        m - k1,
    ]
    page.keyboard.press("Enter")
    assert sliders(figure) == [levels.index(k1), m - k1]
    want = frame_file(manifest, "x", level=k1, step=m - k1)
    assert current_frame(page, figure, want) == want
    page.keyboard.press("End")  # the row's last cell: the reconstruction
    page.keyboard.press(" ")
    assert sliders(figure) == [levels.index(k1), model["steps"] - k1]
    want = frame_file(manifest, "x", level=k1, step=model["steps"] - k1)
    assert current_frame(page, figure, want) == want
    # moving the sliders moves the outline (and the tab stop, once focus has left the grid)
    thumb = figure.locator("[role=slider]").first
    thumb.focus()
    page.keyboard.press("Home")
    marker = figure.locator(".nti-tri-marker").bounding_box()
    assert (
        marker
        == cell(figure, grid["rows"][0], min(model["steps"] - grid["rows"][0], sliders(figure)[1])).bounding_box()
    )
    assert not page.errors, page.errors


def test_full_triangle_link_points_at_an_existing_image_never_loaded_by_itself(page, base_url, build):
    figure = open_figure(page, base_url)
    model, _ = model_data(build, figure)
    figure.hover()  # engage: every sheet of the model loads, still not the full triangle
    wait_until(figure, "f => f.dataset.sheets === 'all'")
    page.wait_for_load_state("networkidle")
    full = model["triangle"]["full"]
    link = figure.locator("a.nti-tri-full")
    href = link.get_attribute("href")
    assert href == urllib.request.urljoin(base_url + "generated/forward_backward.json", full["url"])
    assert f"{full['rows'].__len__()} × {len(full['cols'])}" in link.inner_text()
    assert not [u for u in page.requests if "triangle-full" in u], (
        "the full triangle was requested without being asked for"
    )
    assert [u for u in page.requests if u.endswith("/triangle-grid.png")], "the grid mosaic was not loaded"
    with urllib.request.urlopen(href) as response:
        body = response.read()
        assert response.status == 200 and response.headers["Content-Type"] == "image/png"
    assert body[:8] == b"\x89PNG\r\n\x1a\n" and len(body) == full["bytes"]
    assert int.from_bytes(body[16:20], "big") == full["width"] and int.from_bytes(body[20:24], "big") == full["height"]
    assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")
    assert not page.errors, page.errors


@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)])
def test_no_horizontal_overflow(browser, base_url, build, width, height):
    with opened(browser, width, height) as page:
        figure = open_figure(page, base_url)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # the grid fits its column as drawn: not scrolled sideways inside its own box either
        assert figure.locator(".nti-tri").evaluate("e => e.scrollWidth <= e.clientWidth")
        right = figure.evaluate(
            "f => Math.max(...Array.from(f.querySelectorAll('*')).map(e => e.getBoundingClientRect().right))"
        )
        assert right <= width
        assert not page.errors, page.errors


def test_a_narrow_column_shows_every_other_row_and_clicks_still_land(browser, base_url, build):
    """Too narrow for every row (a phone with the real 32-px models; here a very narrow window), the grid
    shows every other row (and the last) with the columns where they start; a click still shows its run,
    and a run between the rows shown gets a dashed outline at the nearest cell."""
    with opened(browser, 1280, 900) as page:
        figure = open_figure(page, base_url)
        model, manifest = model_data(build, figure)
        grid, levels = model["triangle"]["grid"], [level["level"] for level in model["levels"]]
        # narrow the figure until the whole grid no longer fits (the page itself may then scroll: not this test's concern)
        room = figure.locator(".nti-tri-gauge").evaluate("g => g.clientWidth")
        figure.evaluate(
            "(f, w) => f.style.setProperty('width', w + 'px')", grid["width"] + 10
        )  # less than the grid at 1x beside its axis
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        views = figure.locator(".nti-views button", has_text="Triangle")
        if views.count() and views.is_visible():  # narrowed, the figure may turn compact: the grid is a view of it
            views.click()
        page.wait_for_function(
            "f => f.querySelector('.nti-tri').dataset.rows !== '%d'" % len(grid["rows"]), arg=figure.element_handle()
        )
        assert room > 0
        rows = [r for r in range(len(grid["rows"])) if r % 2 == 0 or r == len(grid["rows"]) - 1]
        shown = [grid["rows"][r] for r in rows]
        cols = [m for m in grid["cols"] if m in shown or m == grid["cols"][-1]]
        assert figure.locator(".nti-tri").get_attribute("data-rows") == str(len(rows))
        assert figure.locator(".nti-tri-cell").count() == sum(1 for k in shown for m in cols if m >= k)
        k, m = shown[-2], cols[-1]
        cell(figure, k, m - k).click()
        assert sliders(figure) == [levels.index(k), m - k]
        want = frame_file(manifest, "x", level=k, step=m - k)
        assert current_frame(page, figure, want) == want
        assert "nti-tri-near" not in figure.locator(".nti-tri-marker").get_attribute("class")
        # a level between the rows shown: the outline is dashed
        hidden = next(k for k in grid["rows"] if k not in shown)
        thumb = figure.locator("[role=slider]").first
        thumb.focus()
        page.keyboard.press("Home")
        for _ in range(levels.index(hidden)):
            page.keyboard.press("ArrowRight")
        assert "nti-tri-near" in figure.locator(".nti-tri-marker").get_attribute("class")
        assert not figure.locator(".nti-tri-cell[aria-current]").count()
        assert not page.errors, page.errors
