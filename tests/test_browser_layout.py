"""Layout of the built site in headless Chromium, on a desktop (1280x900) and a phone (390x844):
no page scrolls sideways, a pinned figure shows every control and chart inside the viewport (no
scroll box inside it), every text step of every section (the last included) becomes active while
the page is scrolled in ordinary steps and moves its figure, frames are drawn at a whole-number
multiple of the model's resolution, the "Follow the text again" button appears without moving
anything, and the figures carry their labels (axes, colour scales, the x̂₀ strip).
Screenshots of failures go under pytest's tmp_path only."""

from __future__ import annotations

import json
import math

import pytest
from site_support import (
    CHROMIUM,
    built_site,
    default_site,
    failed,
    frame_file,
    large_site,
    manifests,
    page_of,
    served,
    tab,
)

# The figures checked here, and their pages from the registry (issue 24 extends this to every lesson).
FIGURES = {name: page_of(name) for name in ("reverse", "step_counts", "forward_backward", "patch_noise", "mix_noise")}
PAGES = {"index": "", **{path.strip("/"): path for path in FIGURES.values()}}
VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}
MIN_SCALE = {"desktop": 4, "phone": 2}
# arrow functions, not expressions: Playwright polls expressions with eval(), which the site's CSP forbids
READY = "() => Array.from(document.querySelectorAll('.nti-figure')).every(f => f.dataset.ready === 'true' || f.dataset.defer === 'true')"
# Shipped models have long labels ("fashion-32 (shipped, trained on Fashion-MNIST)"); the test models
# are named "tiny-rgb" and "tiny-grey". The figure data is served with labels as long as the real ones.
LONG_LABEL = " (shipped, trained on Noto Color Emoji, category 'Smileys & Emotion')"

pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"), pytest.mark.slow]


# The sites each test lays out: the tiny-model site (16 px, smoke grids), the default site (both
# shipped 32-px models, every default grid, real labels) and the 256-px site (previews, half-size
# panels). test_browser_matrix.py already lays every lesson of the tiny and the default site out on
# fourteen screens (sideways scrolling, pinned figures' controls, whole-number frame scales): here
# those checks run where the matrix does not reach (256 px, the overview page, clipped overflow,
# scroll boxes inside a figure), and each test costs a browser seconds on the 2-core machine.
SITES = {
    "test_no_page_scrolls_sideways": ("default", "large"),
    "test_a_pinned_figure_shows_every_control_and_chart": ("default", "large"),
    "test_every_step_activates_while_scrolling_down_the_page": ("default", "large"),
    "test_frames_are_drawn_at_a_whole_number_scale": ("large",),
}
EVERY_SITE = ("tiny", "default", "large")


def pytest_generate_tests(metafunc):
    if "build" in metafunc.fixturenames:
        sites = SITES.get(metafunc.definition.name, EVERY_SITE)
        metafunc.parametrize("build", sites, indirect=True, scope="module")


@pytest.fixture(scope="module")
def build(request):
    if request.param == "large":  # 256-px frames: previews, half-size panels
        return dict(large_site(), large=True)
    return built_site() if request.param == "tiny" else default_site()


@pytest.fixture(scope="module")
def base_url(build):
    return served(build)


@pytest.fixture(params=list(VIEWPORTS))
def device(request):
    return request.param


@pytest.fixture
def page(browser, device, tmp_path, request):
    width, height = VIEWPORTS[device]
    phone = device == "phone"
    with tab(browser, viewport={"width": width, "height": height}, is_mobile=phone, has_touch=phone) as page:
        page.errors = []
        # script errors; the policy's reports (CSP) are test_browser.py's to check, page by page
        page.on(
            "console",
            lambda m: (
                page.errors.append(m.text) if m.type == "error" and "Content Security Policy" not in m.text else None
            ),
        )
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.route("**/generated/*.json", _long_labels)
        page.device = device
        yield page
        if failed(request):  # how the page looked at the end (pytest keeps the last few tmp_paths)
            try:
                page.screenshot(path=str(tmp_path / f"{device}.png"), timeout=5000)
            except Exception:  # a help for debugging, never a second failure
                pass


def _long_labels(route):
    response = route.fetch(timeout=10000)
    data = json.loads(response.body())
    for model in data.get("models", []):
        model["label"] = model["label"] + LONG_LABEL
    route.fulfill(response=response, body=json.dumps(data))


def open_page(page, base_url, path):
    page.goto(base_url + path, timeout=15000)
    page.wait_for_function(READY, timeout=15000)


# The page settled after a scroll: every figure ready or deferred (not yet near), then two frames.
# Walks that stop many times run as one in-page script: a round trip to the browser costs a few ms
# of CPU on each side, and a walk down a page made some 500 of them.
SETTLE_JS = """async () => {
    const ready = READY_FN;
    for (let t = 0; !ready(); t++) {
        if (t > 750) throw new Error('a figure never became ready');
        await new Promise(r => setTimeout(r, 20));
    }
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
}""".replace("READY_FN", READY)
MOUNT_ALL = """async () => {
    const settle = SETTLE;
    const height = window.innerHeight, total = document.scrollingElement.scrollHeight;
    for (let y = 0; y < total + height; y += height) { window.scrollTo(0, y); await settle(); }
    for (let t = 0; !Array.from(document.querySelectorAll('.nti-figure')).every(f => f.dataset.ready === 'true'); t++) {
        if (t > 750) throw new Error('a figure never mounted');
        await new Promise(r => setTimeout(r, 20));
    }
    window.scrollTo(0, 0);
    await settle();
}""".replace("SETTLE", SETTLE_JS)


def settle(page):
    page.evaluate(SETTLE_JS)


def mount_all(page):
    """Scroll through the page so every figure mounts (they wait until scrolled near), then back up."""
    page.evaluate(MOUNT_ALL)


def pin(page, kind):
    """Scroll so the figure's section is a little past its start: the figure is pinned below the header."""
    figure = page.locator(f'.nti-figure[data-kind="{kind}"]')
    figure.scroll_into_view_if_needed(timeout=10000)
    settle(page)
    page.evaluate(
        """kind => {
        const figure = document.querySelector(`.nti-figure[data-kind="${kind}"]`);
        const section = figure.closest('.nti-scrolly');
        const step = section.querySelector('.nti-step');
        window.scrollTo(0, step.getBoundingClientRect().top + window.scrollY - 40);
    }""",
        kind,
    )
    settle(page)
    return figure


PINNED = """f => {
    let el = f;
    while (el && getComputedStyle(el).position !== 'sticky') el = el.parentElement;
    if (!el) return null;
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    return { top: box.top, bottom: box.bottom, cssTop: parseFloat(style.top), overflowY: style.overflowY,
             scrollHeight: el.scrollHeight, clientHeight: el.clientHeight };
}"""

CONTROLS = """f => Array.from(f.querySelectorAll(
        '[role=slider], .nti-slider-track, button, select, svg, .nti-colorbar, .nti-panel canvas, .nti-info'))
    .filter(e => e.getClientRects().length > 0)  // rendered (not display: none on this screen)
    .map(e => { const b = e.getBoundingClientRect();
                return { what: e.className.baseVal !== undefined ? 'svg.' + e.className.baseVal : (e.getAttribute('role') || e.tagName.toLowerCase()) + '.' + e.className,
                         text: (e.textContent || '').slice(0, 30), left: b.left, right: b.right, top: b.top, bottom: b.bottom }; })"""


def test_no_page_scrolls_sideways(page, base_url):
    for name, path in PAGES.items():
        open_page(page, base_url, path)
        mount_all(page)
        width = page.evaluate("window.innerWidth")
        scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
        assert scroll_width <= width, f"{name} ({page.device}): {scroll_width} px wide in a {width} px window"
        # and nothing of a figure sticks out past the window's right edge, even if clipped
        wide = page.evaluate(
            """w => Array.from(document.querySelectorAll('.nti-figure *'))
            .filter(e => e.getBoundingClientRect().right > w + 0.5).map(e => e.tagName + '.' + e.className).slice(0, 5)""",
            width,
        )
        assert not wide, f"{name} ({page.device}): {wide}"
    assert not page.errors, page.errors


@pytest.mark.parametrize("kind", list(FIGURES))
def test_a_pinned_figure_shows_every_control_and_chart(page, base_url, kind):
    open_page(page, base_url, FIGURES[kind])
    figure = pin(page, kind)
    pinned = figure.evaluate(PINNED)
    assert pinned is not None, f"{kind}: nothing is sticky"
    assert abs(pinned["top"] - pinned["cssTop"]) < 1.5, f"{kind} ({page.device}) is not pinned: {pinned}"
    assert pinned["overflowY"] not in ("auto", "scroll") and pinned["scrollHeight"] <= pinned["clientHeight"] + 1, (
        f"{kind} ({page.device}) scrolls inside itself: {pinned}"
    )
    header = page.evaluate("document.querySelector('.md-header').getBoundingClientRect().bottom")
    width, height = page.evaluate("[window.innerWidth, window.innerHeight]")
    items = figure.evaluate(CONTROLS)
    assert any(i["what"].startswith("slider") for i in items), items
    outside = [
        i
        for i in items
        if i["top"] < header - 0.5 or i["bottom"] > height + 0.5 or i["left"] < -0.5 or i["right"] > width + 0.5
    ]
    assert not outside, (
        f"{kind} ({page.device}): outside the {width}x{height} viewport below the header at {header}: {outside[:6]}"
    )
    if page.device == "phone":  # the text below gets some of the screen
        assert pinned["bottom"] <= height - 150, f"{kind}: the pinned figure leaves no room for the text ({pinned})"
    assert not page.errors, page.errors


def _expected_state(figure, state) -> list[tuple[str, object, object]]:
    """(what, shown, wanted) for each key of a step's state this figure shows."""
    kind = figure.get_attribute("data-kind")
    checks = []
    sliders = figure.locator("[role=slider]")

    def slider(index, fraction):
        thumb = sliders.nth(index)
        lo, hi = int(thumb.get_attribute("aria-valuemin")), int(thumb.get_attribute("aria-valuemax"))
        want = lo + math.floor(min(1, max(0, fraction)) * (hi - lo) + 0.5)
        return int(thumb.get_attribute("aria-valuenow")), want

    for key, value in state.items():
        if key in ("step", "progress", "size", "scale", "level"):
            index = 1 if (kind == "forward_backward" and key == "step") else 0
            checks.append((key, *slider(index, value)))
        elif key == "position":
            pressed = figure.locator(".nti-pos").evaluate_all(
                "bs => bs.findIndex(b => b.getAttribute('aria-pressed') === 'true')"
            )
            checks.append((key, pressed, value))
        elif key == "flip":
            checks.append(
                (
                    key,
                    figure.locator("button", has_text="Flip").get_attribute("aria-pressed"),
                    "true" if value else "false",
                )
            )
        elif key == "seed" and figure.locator(".nti-controls select").count():
            checks.append((key, int(figure.locator(".nti-controls select").input_value()), value))
    return checks


SCROLL_TO_END = """async (by) => {
    const settle = SETTLE;
    const seen = [];
    for (let stop = 0; stop < 400; stop++) {
        Array.from(document.querySelectorAll('.nti-scrolly')).forEach((s, section) => {
            const index = Array.from(s.querySelectorAll('.nti-step[data-state]')).findIndex(e => e.classList.contains('nti-step-active'));
            (seen[section] ||= []).push(index);
        });
        if (Math.ceil(window.scrollY + window.innerHeight) >= document.scrollingElement.scrollHeight) {
            await settle();
            return seen;
        }
        window.scrollBy(0, by);
        await settle();
    }
    return null;
}""".replace("SETTLE", SETTLE_JS)


def _scroll_to_end(page, seen: dict[int, set[int]]) -> None:
    """Scroll down a third of a screen at a time, as a reader does, to the bottom of the page, noting
    in `seen` each section's step that is active at each stop."""
    found = page.evaluate(SCROLL_TO_END, int(0.3 * page.viewport_size["height"]))
    if found is None:
        pytest.fail("never reached the bottom of the page")
    for section, indices in enumerate(found):
        seen.setdefault(section, set()).update(indices)


def _last_steps_shown(page, name: str, sections: range, ending: str) -> None:
    """At the bottom of the page, each of these sections' last step is the active one and its figure
    shows that step's state."""
    for section in sections:
        steps = page.locator(".nti-scrolly").nth(section).locator(".nti-step[data-state]")
        last = steps.nth(steps.count() - 1)
        where = f"{name} ({page.device}, {ending}) section {section}"
        assert "nti-step-active" in (last.get_attribute("class") or ""), f"{where}: last step not active at the end"
        figure = page.locator(".nti-scrolly").nth(section).locator(".nti-figure")
        checks = _expected_state(figure, json.loads(last.get_attribute("data-state")))
        assert checks, "the last step sets nothing this test can read"
        for what, shown, wanted in checks:
            assert shown == wanted, f"{where}: {what} shows {shown}, the last step wants {wanted}"


@pytest.mark.parametrize("name", [n for n in PAGES if n != "index"])
def test_every_step_activates_while_scrolling_down_the_page(page, base_url, name):
    """Ordinary scrolling (a third of a screen at a time) makes every step active in turn, the last
    of each section included, and the figure follows; at the bottom of the page each section's
    last step is the active one and its figure shows that step's state. Then, on the same page
    load, the page is made to end with its last section (nothing of the article after it), so that
    section's last step has only the room the section itself keeps below it: at the new bottom it
    is still the active one, and its figure shows it."""
    open_page(page, base_url, PAGES[name])
    height = page.viewport_size["height"]
    seen: dict[int, set[int]] = {}
    _scroll_to_end(page, seen)
    counts = page.evaluate(
        "() => Array.from(document.querySelectorAll('.nti-scrolly')).map(s => s.querySelectorAll('.nti-step[data-state]').length)"
    )
    assert counts, f"{name} has no scrollytelling section"
    for section, count in enumerate(counts):
        assert set(range(count)) <= seen.get(section, set()), (
            f"{name} ({page.device}) section {section}: steps active at some point {sorted(seen.get(section, set()))} of {count}"
        )
    _last_steps_shown(page, name, range(len(counts)), "as built")
    # "section last": cut what follows the last section, scroll back by a screen and down to the new end
    page.evaluate("""() => { const all = document.querySelectorAll('.nti-scrolly');
        const last = all[all.length - 1]; while (last.nextSibling) last.nextSibling.remove(); }""")
    page.evaluate(f"window.scrollBy(0, {-height})")
    settle(page)
    _scroll_to_end(page, {})
    _last_steps_shown(page, name, range(len(counts) - 1, len(counts)), "section last")
    assert not page.errors, page.errors


def test_frames_are_drawn_at_a_whole_number_scale(page, base_url, build):
    """Small frames at a whole multiple of their pixels; 256-px frames at a power-of-two fraction,
    drawn from their half-size previews one canvas pixel per CSS pixel (1 device pixel per CSS pixel)."""
    least = MIN_SCALE[page.device]
    for name, path in PAGES.items():
        if name == "index":
            continue
        open_page(page, base_url, path)
        mount_all(page)
        measure = """() => Array.from(document.querySelectorAll('.nti-figure .nti-panel canvas'))
            .filter(c => c.getClientRects().length).map(c => ({
            frame: c.dataset.frame, scale: c.dataset.scale, pixels: c.width, css: c.getBoundingClientRect().width,
            cssHeight: c.getBoundingClientRect().height, thumb: Boolean(c.closest('.nti-thumb')),
            kind: c.closest('.nti-figure').dataset.kind }))"""
        # a compact figure shows the view its active step speaks of (at the page's end, perhaps a chart): its frames
        for frames_view in page.locator(".nti-figure .nti-views button:first-child").all():
            if frames_view.is_visible():
                frames_view.click()
        canvases = page.evaluate(measure)
        # panels behind a toggle (step counts' late start) are measured with the toggle on
        toggles = page.locator(".nti-figure button.nti-reveal[aria-pressed=false]")
        for i in range(toggles.count()):
            toggles.nth(i).click()
        canvases += page.evaluate(measure) if toggles.count() else []
        assert canvases, name
        for c in canvases:
            assert c["frame"], c  # drawn
            if build.get("large"):
                assert float(c["scale"]) in (0.5, 0.25, 0.125) and abs(c["css"] - 256 * float(c["scale"])) < 0.01, c
                assert c["pixels"] == 128 and c["css"] <= c["pixels"], c  # the preview, never stretched
                continue
            ratio = c["css"] / c["pixels"]
            assert abs(ratio - round(ratio)) < 0.01 and abs(c["cssHeight"] - c["css"]) < 0.01, (
                f"{name} ({page.device}): not a whole-number scale {c}"
            )
            assert int(c["scale"]) == round(ratio), c
            assert round(ratio) >= (1 if c["thumb"] else least), (
                f"{name} ({page.device}): {c['kind']} at {ratio}x, wanted at least {least}x"
            )
    assert not page.errors, page.errors


def test_the_follow_button_appears_without_moving_anything(page, base_url):
    open_page(page, base_url, "reverse/")
    figure = pin(page, "reverse")
    follow = figure.locator(".nti-follow")
    box = "b => { const r = b.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }"
    before = follow.evaluate(box)
    assert before[2] > 0 and before[3] > 0, "no place is kept for the button"
    assert not follow.is_visible()
    where = "f => Array.from(f.querySelectorAll('.nti-panel, .nti-controls, .nti-strip')).map(e => { const b = e.getBoundingClientRect(); return [b.left, b.top, b.width, b.height]; })"
    layout = figure.evaluate(where)
    figure.locator("[role=slider]").first.focus()
    page.keyboard.press("End")  # the reader takes over
    follow.wait_for(state="visible", timeout=5000)
    assert figure.evaluate(where) == layout
    assert follow.evaluate(box) == before
    follow.click()
    assert not follow.is_visible()
    assert not page.errors, page.errors


def test_figures_carry_axes_colour_scales_and_the_x0_strip(page, base_url, build):
    open_page(page, base_url, "reverse/")
    figure = pin(page, "reverse")
    manifest = manifests(build["runs"])[(figure.get_attribute("data-model"), "reverse")]
    steps, seed = manifest["axes"]["steps"], manifest["axes"]["seeds"][0]
    texts = figure.locator("svg.nti-strip text").all_text_contents()
    assert {"0", "0.5", "1", str(steps), "sampling step", "ᾱ"} <= set(texts), texts
    # x̂₀ at evenly spaced steps, first and last included, the one nearest the current step marked
    thumbs = figure.locator(".nti-thumb")
    views = figure.locator(".nti-views button")
    if views.count() and views.first.is_visible() and not thumbs.first.is_visible():
        views.filter(has_text="x̂₀").click()  # a compact figure: the strip is one of its views
    picks = sorted({math.floor(k * (steps - 1) / (min(6, steps) - 1) + 0.5) for k in range(min(6, steps))})
    assert thumbs.evaluate_all("els => els.map(e => e.dataset.frame)") == [
        frame_file(manifest, "x0", seed=seed, step=i) for i in picks
    ]
    figure.locator("[role=slider]").first.focus()
    page.keyboard.press("End")
    assert figure.locator(".nti-thumb.nti-current").get_attribute("data-frame") == frame_file(
        manifest, "x0", seed=seed, step=steps - 1
    )
    thumbs.first.locator("canvas").click()  # a small panel jumps to its step
    assert figure.locator("[role=slider]").first.get_attribute("aria-valuenow") == "0"

    for kind in ("patch_noise", "mix_noise"):
        open_page(page, base_url, page_of(kind))
        figure = pin(page, kind)
        data = json.loads((build["site"] / "generated" / f"{kind}.json").read_text())
        model = next(m for m in data["models"] if m["slug"] == figure.get_attribute("data-model"))
        bars = figure.locator(".nti-pairs .nti-colorbar")
        assert bars.count() == 2
        tops = [bars.nth(i).locator(".nti-colorbar-ticks span").all_text_contents() for i in range(2)]
        assert (
            tops[0][-1] == f"{model['heat_scales']['noise']:g} σ"
            and tops[1][-1] == f"{round(model['heat_scales']['output'] * 50)} %"
        ), tops
        # two rows of three: n1 n2 |n1 - n2| above o1 o2 |o1 - o2|
        rows = figure.locator(".nti-pairs .nti-panel").evaluate_all(
            "els => els.map(e => Math.round(e.getBoundingClientRect().top))"
        )
        assert len(set(rows[:3])) == 1 and len(set(rows[3:])) == 1 and rows[3] > rows[0], rows
    figure = page.locator('.nti-figure[data-kind="mix_noise"]')
    charts = figure.locator("svg.nti-chart")
    assert charts.count() == 2  # distances, and the trajectories' distances step by step
    for chart, axis in [(n, a) for n in range(charts.count()) for a in ("x", "y")]:
        numbers = charts.nth(
            chart
        ).evaluate("""svg => Array.from(svg.querySelectorAll('text'))
            .filter(t => /^[0-9.]+$/.test(t.textContent)).map(t => [+t.getAttribute('x'), +t.getAttribute('y'), +t.textContent])""")
        # x ticks share a y below the plot, y ticks share an x left of it
        groups: dict[float, list[float]] = {}
        for x, y, v in numbers:
            groups.setdefault(y if axis == "x" else x, []).append(v)
        ticks = max(groups.values(), key=len)
        assert len(ticks) >= 3 and ticks[0] == 0, (axis, numbers)
        step = (ticks[-1] - ticks[0]) / (len(ticks) - 1)
        assert all(abs(b - a - step) < 1e-9 for a, b in zip(sorted(ticks), sorted(ticks)[1:])), (axis, ticks)
        assert any(abs(step - m * 10**e) < 1e-9 for m in (1, 2, 2.5, 5) for e in range(-3, 7)), (axis, step)
    assert not page.errors, page.errors
