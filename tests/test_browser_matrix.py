"""Every lesson on every common screen (issue 24's matrix), in headless Chromium: laptops from
1024x768 up, desktops, tablets both ways, phones both ways, and a 1280-px window at 200 % and 400 %
browser zoom (WCAG 2.2 reflow); the default site on every screen, the tiny site on three (CASES). For each page
and screen, one page load:

- nothing scrolls sideways;
- each figure is either pinned whole inside the viewport below the header (in every view of its
  compact form, when it has one) with every control and chart visible, or falls back to not pinned
  (it then scrolls with its steps); never pinned and cut off;
- frames at whole-number scales: at least 2x everywhere (zoom aside), the largest frame of
  each figure at least 4x from 1280 px wide (zoom aside); thumbnails at least 48 CSS px;
- chart text (SVG) at least 11 CSS px;
- a compact figure shows the view its active text step speaks of;
- every text step can be read whole while it is the active one (one taller than the screen, from its
  first line to its last), on top of the figure or beside it; beside it, the figure stays whole
  below the header while the last step is scrolled up to the top;
- the cumulative layout shift of loading the page and visiting each figure stays under 0.05.
That every step moves its figure is test_browser_layout's walk (at 1280x900 and 390x844).

The page list comes from the experiment registry (site_support.lesson_paths), never from here.
Measured numbers (tallest pinned figure, smallest chart text) are printed for the closing note
(`pytest -s`)."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import pytest
from site_support import CHROMIUM, SCREENS, SVG_TEXT_PX, built_site, default_site, lesson_paths, served

pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"), pytest.mark.slow]

READY = "() => Array.from(document.querySelectorAll('.nti-figure')).every(f => f.dataset.ready === 'true' || f.dataset.defer === 'true')"
FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
# A shift within 500 ms of the reader's input is not counted (hadRecentInput); the view buttons this
# test presses from a script (FIGURES_MEASURED) are input too: their times are kept in __inputAt.
CLS_OBSERVER = """
    window.__cls = 0;
    window.__inputAt = [];
    const recent = (e) => e.hadRecentInput || window.__inputAt.some(t => e.startTime >= t && e.startTime <= t + 500);
    new PerformanceObserver((list) => { for (const e of list.getEntries()) if (!recent(e)) window.__cls += e.value; })
        .observe({ type: "layout-shift", buffered: true });
"""

# One figure, pinned (scrolled to its first step): where it is, what of it shows, per compact view.
FIGURE = (
    """kind => {
    const f = document.querySelector(`.nti-figure[data-kind="${kind}"]`);
    const section = f.closest('.nti-scrolly');
    const H = document.documentElement.clientHeight, W = document.documentElement.clientWidth;
    const header = document.querySelector('.md-header').getBoundingClientRect().bottom;
    let sticky = f; while (sticky && getComputedStyle(sticky).position !== 'sticky') sticky = sticky.parentElement;
    const box = sticky ? sticky.getBoundingClientRect() : null;
    const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
    const controls = Array.from(f.querySelectorAll('[role=slider], button, select, svg, .nti-colorbar, .nti-panel canvas'))
        .filter(shown).map(e => { const b = e.getBoundingClientRect();
            return { what: (e.getAttribute('role') || e.tagName.toLowerCase()) + '.' + (e.className.baseVal ?? e.className),
                     top: b.top, bottom: b.bottom, left: b.left, right: b.right }; });
    const text = """
    + SVG_TEXT_PX
    + """(f);
    const canvases = Array.from(f.querySelectorAll('.nti-panel canvas')).filter(shown).map(c => ({
        scale: +c.dataset.scale, css: c.getBoundingClientRect().width, pixels: c.width, thumb: Boolean(c.closest('.nti-thumb')) }));
    return { unpinned: section.classList.contains('nti-unpinned'), compact: f.classList.contains('nti-compact'),
             pinned: Boolean(box) && Math.abs(box.top - parseFloat(getComputedStyle(sticky).top)) < 1.5,
             top: box ? box.top : null, bottom: box ? box.bottom : null, height: box ? box.height : null,
             H, W, header, controls, text, canvases, views: f.querySelectorAll('.nti-views button').length };
}"""
)

# Scroll so a step is the active one: its top just past the trigger line (scrolly.js: the middle of
# the viewport beside the text, of the room under a pinned stacked figure).
STEP_TO_LINE = """([section, index]) => {
    const s = document.querySelectorAll('.nti-scrolly')[section];
    const step = s.querySelectorAll('.nti-step[data-state]')[index];
    const f = s.querySelector('.nti-figure').getBoundingClientRect();
    const steps = s.querySelector('.nti-steps').getBoundingClientRect();
    const stacked = f.left < steps.right - 1;
    const H = document.documentElement.clientHeight;
    const target = stacked ? Math.min(H * 0.9, f.bottom + 12) : H * 0.3;
    window.scrollTo(0, step.getBoundingClientRect().top + window.scrollY - target);
}"""
# Each step of a section, read as a reader would: scrolled to a few positions (its top under the
# header or under the pinned figure, its bottom at the viewport's bottom, its top at the trigger
# line), is it at one of them the active step and seen whole, every line on screen and on top (not
# under the pinned figure)? A step taller than the whole screen is read in parts: its first and its
# last line are each seen at some position while it is active. Returns the steps that fail. With
# `answered`, the section's questions (predict.js) are answered first (Skip) and only the steps that
# hold one are read again: an answer adds the measured value and its explanation to the step.
READ_STEPS = """async ([section, answered]) => {
    const s = document.querySelectorAll('.nti-scrolly')[section];
    // the shown model's questions only: another model's, hidden, wait to be read unanswered first
    if (answered) for (const skip of s.querySelectorAll('.nti-predict-skip')) if (skip.getClientRects().length) skip.click();
    const all = Array.from(s.querySelectorAll('.nti-step[data-state]'));
    const steps = all.filter(e => !answered || e.querySelector('.nti-predict'));
    const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const H = document.documentElement.clientHeight;
    const header = () => document.querySelector('.md-header').getBoundingClientRect().bottom;
    const figureBottom = () => { const f = s.querySelector('.nti-figure').getBoundingClientRect(),
        t = s.querySelector('.nti-steps').getBoundingClientRect(); return f.left < t.right - 1 ? f.bottom : 0; };
    const on = (step, x, y) => { const e = document.elementFromPoint(x, y); return Boolean(e) && step.contains(e); };
    const failed = [];
    for (const [i, step] of steps.entries()) {
        const targets = [() => Math.max(header(), figureBottom()) + 4, () => header() + 4,
                         () => H - 4 - step.getBoundingClientRect().height];
        let first = false, last = false, whole = false;
        for (const target of targets) {
            for (let settle = 0; settle < 2; settle++) {
                window.scrollBy(0, step.getBoundingClientRect().top - target());
                await frames();
            }
            if (!step.classList.contains('nti-step-active')) continue;
            const r = step.getBoundingClientRect(), x = r.left + Math.min(20, r.width / 2);
            const top = r.top >= header() - 0.5 && on(step, x, r.top + 6), bottom = r.bottom <= H + 0.5 && on(step, x, r.bottom - 6);
            const middle = on(step, x, (r.top + r.bottom) / 2);
            first ||= top; last ||= bottom; whole ||= top && bottom && middle;
            if (whole) break;
        }
        const tall = step.getBoundingClientRect().height > H - header() - 8;
        if (!(whole || (tall && first && last))) failed.push({ step: all.indexOf(step) + 1, height: Math.round(step.getBoundingClientRect().height), first, last });
    }
    return failed;
}"""
# The last step scrolled up to the header, as a reader does to read it: beside the text, the pinned
# figure must still be whole below the header (the section reaches below it; scrolly.js's tail).
# Returns how far the figure went under the header, or null where it is stacked or not pinned.
LAST_STEP_UNDER_HEADER = """async (section) => {
    const s = document.querySelectorAll('.nti-scrolly')[section];
    if (s.classList.contains('nti-unpinned')) return null;
    const steps = s.querySelectorAll('.nti-step[data-state]'), last = steps[steps.length - 1];
    const f = s.querySelector('.nti-figure').getBoundingClientRect(), t = s.querySelector('.nti-steps').getBoundingClientRect();
    if (f.left < t.right - 1) return null;
    let sticky = s.querySelector('.nti-figure');
    while (sticky && getComputedStyle(sticky).position !== 'sticky') sticky = sticky.parentElement;
    if (!sticky) return null;
    const header = document.querySelector('.md-header').getBoundingClientRect().bottom;
    for (let settle = 0; settle < 2; settle++) {
        window.scrollBy(0, last.getBoundingClientRect().top - header - 4);
        await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    }
    return header - sticky.getBoundingClientRect().top;
}"""
# Every figure of the page in turn, in one script (a round trip to the browser costs a few ms of CPU
# on each side, and this walk made some 60 a page): scrolled near so it mounts, then its section's top
# just under the viewport's (the figure pinned, or unpinned at the top, no text step over it yet), and
# FIGURE measured in each view of its compact form (a view button pressed, then the first again).
FIGURES_MEASURED = """async (kinds) => {
    const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const measure = FIGURE_FN;
    const looks = {};
    for (const kind of kinds) {
        const f = document.querySelector(`.nti-figure[data-kind="${kind}"]`);
        f.scrollIntoView();
        for (let t = 0; f.dataset.ready !== 'true'; t++) {
            if (t > 1000) throw new Error(`${kind} never became ready`);
            await new Promise(r => setTimeout(r, 20));
        }
        const s = f.closest('.nti-scrolly');
        window.scrollTo(0, s.getBoundingClientRect().top + window.scrollY - 8);
        await frames();
        const first = measure(kind), seen = [first];
        const buttons = f.querySelectorAll('.nti-views button');
        for (let i = 1; i < (first.compact ? first.views : 0); i++) {
            window.__inputAt.push(performance.now());
            buttons[i].click();
            await frames();
            seen.push(measure(kind));
            if (seen[i].unpinned || !seen[i].compact) break;
        }
        if (first.compact && buttons.length && buttons[0].getClientRects().length) {
            window.__inputAt.push(performance.now());
            buttons[0].click();
        }
        looks[kind] = seen;
    }
    return looks;
}""".replace("FIGURE_FN", FIGURE)
# Each step of a compact figure's section, last to first, made the active one (above the first, the
# first stays active): the view it asks for ("view" in its state) and the view the figure then shows.
STEP_VIEWS = """async (section) => {
    const s = document.querySelectorAll('.nti-scrolly')[section];
    const f = s.querySelector('.nti-figure');
    if (!f.classList.contains('nti-compact')) return [];
    const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    const steps = Array.from(s.querySelectorAll('.nti-step[data-state]'));
    const toLine = STEP_TO_LINE_FN;
    const found = [];
    for (let index = steps.length - 1; index >= 0; index--) {
        const want = JSON.parse(steps[index].dataset.state).view ?? 0;
        toLine([section, index]);
        await frames();
        await frames();
        const view = Array.from(f.querySelectorAll('.nti-views button')).findIndex(b => b.getAttribute('aria-pressed') === 'true');
        const active = steps.findIndex(e => e.classList.contains('nti-step-active'));
        found.push({ index, want, view, active });
    }
    return found;
}""".replace("STEP_TO_LINE_FN", STEP_TO_LINE)
# Every screen for the default site (the shipped models' real frame sizes, labels and grids); the
# tiny site (16-px frames, smoke grids: other scales, shorter figures) on a phone and at 400 % zoom,
# the narrowest and shortest ends of the range (a 1024x768 laptop has room between them). Each pair costs a browser 10-15 s on the 2-core machine.
TINY_SCREENS = ("390x844", "1280x800@400%")
CASES = [("default", screen) for screen in SCREENS] + [("tiny", s) for s in SCREENS if s[0] in TINY_SCREENS]


@pytest.fixture(scope="module")
def site(request):
    build = built_site() if request.param == "tiny" else default_site()
    return served(build)


_PAGES: dict[tuple, object] = {}  # (browser, device scale, mobile) -> a page kept from screen to screen


def _page_for(browser, site: str, width: int, height: int, scale_factor: float, mobile: bool):
    """A page for this screen: one per device kind (scale and mobile, which a context fixes), resized
    from screen to screen in this process. A new context and page cost Chromium about 1.7 CPU-s on
    the 2-core machine. As a new context, it starts with an empty HTTP cache (each screen's first page
    is a first visit; the later ones reuse the theme's files, as before) and no storage; the layout
    shift observer is the context's init script, in every page loaded."""
    key = (id(browser), scale_factor, mobile)
    page = _PAGES.get(key)
    if page is None or page.is_closed():
        context = browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=scale_factor,
            is_mobile=mobile,
            has_touch=mobile,
        )
        context.add_init_script(CLS_OBSERVER)
        page = _PAGES[key] = context.new_page()
    else:
        page.goto("about:blank")
        page.context.clear_cookies()
        page.set_viewport_size({"width": width, "height": height})
    devtools = page.context.new_cdp_session(page)
    devtools.send("Network.clearBrowserCache")
    origin = "{0.scheme}://{0.netloc}".format(urlparse(site))
    devtools.send("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})
    devtools.detach()
    return page


# How many of a section's models to read the steps of: every model in its menu where the figure is
# pinned above the text (stacked: the room under it is short, and each model's words differ in
# length); beside the text, or unpinned, the first (its steps have the screen's height).
MODELS_TO_READ = """(section) => {
    const s = document.querySelectorAll('.nti-scrolly')[section];
    const f = s.querySelector('.nti-figure'), t = s.querySelector('.nti-steps');
    const stacked = f.getBoundingClientRect().left < t.getBoundingClientRect().right - 1;
    const menu = f.querySelector('.nti-figure-head select');
    return stacked && !s.classList.contains('nti-unpinned') && menu ? menu.options.length : 1;
}"""


def _scale_floor(name: str, width: int) -> int:
    if "@" in name:
        return 1  # zoomed: the window is what it is; frames only need to stay whole and on screen
    return 2  # phones from 360 px wide included


@pytest.mark.parametrize(
    ("site", "screen"), CASES, ids=[f"{name}-{screen[0]}" for name, screen in CASES], indirect=["site"], scope="module"
)
def test_every_lesson_fits_this_screen(browser, site, screen):
    name, (width, height), scale_factor, mobile = screen
    page = _page_for(browser, site, width, height, scale_factor, mobile)
    errors = []
    on_error = lambda e: errors.append(str(e))  # noqa: E731  (removed again below)
    page.on("pageerror", on_error)
    problems, tallest, smallest_text, worst_shift = [], 0.0, 99.0, 0.0
    finished = False
    try:
        for path in ["", *lesson_paths()]:  # the overview too: its figure must not push the text down either
            page.goto(site + path, timeout=20000)
            page.wait_for_function(READY, timeout=20000)
            side = page.evaluate("document.scrollingElement.scrollWidth - document.documentElement.clientWidth")
            if side > 0:
                problems.append(f"{path}: scrolls {side} px sideways")
            kinds = page.evaluate(
                "() => Array.from(document.querySelectorAll('.nti-scrolly .nti-figure')).map(f => f.dataset.kind)"
            )
            measured = page.evaluate(FIGURES_MEASURED, kinds)
            for kind in kinds:
                looks = measured[kind]
                for i, look in enumerate(looks[1:], start=1):
                    if look["unpinned"] or not look["compact"]:
                        problems.append(
                            f"{path} {kind}: showing view {i} unpinned the figure, though every view was measured to fit"
                        )
                for view, m in enumerate(looks):
                    where = f"{path} {kind} (view {view})"
                    if m["unpinned"]:
                        continue  # the fallback: it scrolls with its steps
                    if not m["pinned"]:
                        problems.append(f"{where}: neither pinned nor marked unpinned (top {m['top']})")
                        continue
                    tallest = max(tallest, m["height"])
                    if m["bottom"] > m["H"] + 0.5:
                        problems.append(
                            f"{where}: pinned {m['height']:.0f} px tall, past the viewport's bottom ({m['bottom']:.0f} > {m['H']})"
                        )
                    outside = [
                        c
                        for c in m["controls"]
                        if c["top"] < m["header"] - 0.5
                        or c["bottom"] > m["H"] + 0.5
                        or c["left"] < -0.5
                        or c["right"] > m["W"] + 0.5
                    ]
                    if outside:
                        problems.append(
                            f"{where}: {len(outside)} controls outside the {m['W']}x{m['H']} viewport, e.g. {outside[0]}"
                        )
                    for size, text in m["text"]:
                        smallest_text = min(smallest_text, size)
                        if size < 11 - 0.05:
                            problems.append(f"{where}: chart text {text!r} at {size:.1f} CSS px")
                    panels = [c for c in m["canvases"] if not c["thumb"]]
                    for c in m["canvases"]:
                        ratio = c["css"] / c["pixels"]
                        if c["scale"] >= 1 and abs(ratio - round(ratio)) > 0.01:
                            problems.append(f"{where}: a frame at {ratio:.2f}x, not a whole number")
                        if c["thumb"] and c["css"] < 48 - 0.5 and c["css"] < c["pixels"] * 3:
                            problems.append(f"{where}: a thumbnail {c['css']:.0f} CSS px wide")
                    floor = _scale_floor(name, width)
                    if any(c["scale"] < floor for c in panels):
                        problems.append(
                            f"{where}: frames at {min(c['scale'] for c in panels)}x, wanted at least {floor}x"
                        )
                    if width >= 1280 and "@" not in name and panels and max(c["scale"] for c in panels) < 4:
                        problems.append(
                            f"{where}: largest frame at {max(c['scale'] for c in panels)}x, wanted at least 4x"
                        )
            worst_shift = max(worst_shift, page.evaluate("window.__cls"))
            # a compact figure shows the view its active text step speaks of ("view" in the step's state)
            for section, kind in enumerate(kinds):
                for seen in page.evaluate(STEP_VIEWS, section):
                    if seen["active"] == seen["index"] and seen["view"] != seen["want"]:
                        problems.append(
                            f"{path} {kind}: step {seen['index'] + 1} wants view {seen['want']}, the figure shows {seen['view']}"
                        )
            # every step can be read whole (or, taller than the screen, from its first line to its last) while active
            # (a step with a question: both before it is answered and after, when it holds the answer;
            # stacked under a pinned figure, where the room is short, in every model's words too)
            for section, kind in enumerate(kinds):
                figure = page.locator(".nti-scrolly").nth(section).locator(".nti-figure")
                for model in range(page.evaluate(MODELS_TO_READ, section)):
                    if model:
                        slug = figure.get_attribute("data-model")
                        figure.locator(".nti-figure-head select").first.select_option(index=model)
                        page.wait_for_function(
                            "([f, slug]) => f.dataset.model !== slug && f.dataset.ready === 'true'",
                            arg=[figure.element_handle(), slug],
                            timeout=20000,
                        )
                    for answered in (False, True):
                        for miss in page.evaluate(READ_STEPS, [section, answered]):
                            problems.append(
                                f"{path} {kind} ({figure.get_attribute('data-model')}): step {miss['step']}"
                                f"{' (answered)' if answered else ''} ({miss['height']} px) is never seen whole while"
                                f" active (first line seen: {miss['first']}, last line: {miss['last']})"
                            )
            # ... and the last one read at the top of the screen leaves its figure whole beside it
            for section, kind in enumerate(kinds):
                under = page.evaluate(LAST_STEP_UNDER_HEADER, section)
                if under is not None and under > 0.5:
                    problems.append(
                        f"{path} {kind}: with its last step at the top, the figure is {under:.0f} px under the header"
                    )
        finished = True
    finally:
        page.remove_listener("pageerror", on_error)
        if not finished:  # a page left half way through a walk is not lent to the next screen
            _PAGES.pop((id(browser), scale_factor, mobile), None)
            page.context.close()
    print(
        f"\n[matrix] {name}: tallest pinned figure {tallest:.0f} of {height} px, smallest chart text "
        f"{smallest_text:.1f} px, largest layout shift of a page {worst_shift:.3f}"
    )
    assert not errors, errors
    if worst_shift >= 0.05:
        problems.append(f"a page's cumulative layout shift is {worst_shift:.3f}, wanted under 0.05")
    assert not problems, f"{name}: {len(problems)} problems:\n" + "\n".join(problems[:25])
