"""A link to the current view (share.js): the controls write each figure's state into the address
(replaceState: one history entry), a fresh page opened at that address shows the same frames, also
after instant navigation, and hostile or stale values load the default view without an error."""

from __future__ import annotations

import contextlib
import json
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from site_support import CHROMIUM, default_site, frame_file, manifests, served, tab, wait_until
from test_browser import PANELS, READY, Watch, panel_frames, slider_value

from generate import experiments

pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"), pytest.mark.slow]


CLIPBOARD = ("clipboard-read", "clipboard-write")


@pytest.fixture
def context(browser):
    """A context of its own, for the test that counts history entries and opens a second page."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(list(CLIPBOARD))
    yield context
    context.close()


@pytest.fixture
def page(browser):
    """A lent page (site_support.tab) for the tests that open one page and count no history entries."""
    with tab(browser, permissions=CLIPBOARD, viewport={"width": 1280, "height": 900}) as page:
        yield _watched(page)


def _page(context):
    return _watched(context.new_page())


def _watched(page):
    page.watch = Watch(page)
    page.on("dialog", lambda dialog: (page.watch.errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return page


def _figure(page, url, kind):
    page.goto(url)
    page.wait_for_function(READY, timeout=15000)
    figure = page.locator(f'.nti-figure[data-kind="{kind}"]')
    if figure.get_attribute("data-ready") != "true":
        figure.scroll_into_view_if_needed()
        wait_until(figure, "f => f.dataset.ready === 'true'")
    return figure


def test_a_copied_link_opens_the_same_view(context, base_url, build):
    page = _page(context)
    figure = _figure(page, base_url + "reverse/", "reverse")
    history = page.evaluate("() => history.length")
    models = figure.locator(".nti-figure-head select")
    if models.count():  # the other model, and wait until it is on screen (its sheets load first)
        first = figure.get_attribute("data-model")
        models.select_option("1")
        wait_until(figure, f"f => f.dataset.model !== {first!r} && f.dataset.ready === 'true'")
    figure.locator(".nti-controls select").select_option("1")  # the second seed
    thumb = figure.locator("[role=slider]").first
    thumb.focus()
    for key in ("End", "ArrowLeft", "ArrowLeft"):
        thumb.press(key)
    want_frames, want_step = panel_frames(figure), slider_value(figure)
    figure.locator("button.nti-share").click()
    wait_until(figure, "f => f.querySelector('.nti-share-status').textContent !== ''")
    link = page.evaluate("() => navigator.clipboard.readText()")
    assert link == page.url and "reverse=" in link
    state = parse_qs(urlparse(link).query)["reverse"][0]
    assert "seed:1" in state and (not models.count() or f"model:{figure.get_attribute('data-model')}" in state)
    assert page.evaluate("() => history.length") == history  # replaced, never pushed

    fresh = _page(context)
    shown = _figure(fresh, link, "reverse")
    wait_until(shown, f"f => f.querySelector('[role=slider]').getAttribute('aria-valuenow') === '{want_step}'")
    assert shown.get_attribute("data-model") == figure.get_attribute("data-model")
    # The slider moves at once; a panel keeps its frame until the sheet of the linked one has
    # arrived (frames.js draw), so wait (bounded) for the linked frames rather than read them at once.
    frames = json.dumps(want_frames, separators=(",", ":"))  # as JSON.stringify writes it
    wait_until(
        shown,
        f"f => JSON.stringify(Array.from(f.querySelectorAll('{PANELS}')).map(e => e.dataset.frame)) === {frames!r}",
    )
    assert panel_frames(shown) == want_frames
    # the text does not take the view away: scrolling through the steps leaves it as linked
    fresh.mouse.wheel(0, 600)
    fresh.wait_for_timeout(300)
    assert panel_frames(shown) == want_frames
    page.watch.assert_clean()
    fresh.watch.assert_clean()


def test_a_link_restores_its_view_after_instant_navigation(page, base_url, build):
    page.goto(base_url)
    page.wait_for_function(READY, timeout=15000)
    manifest = next(m for (slug, e), m in sorted(manifests(build["runs"]).items()) if e == "samplers")
    slug = manifest["model"]["slug"]
    # an in-site link with a view in it, followed by the theme's instant navigation (no reload)
    page.evaluate(
        """href => { const a = document.createElement('a'); a.href = href; a.id = 'nti-test-link';
                               a.textContent = 'go'; document.querySelector('article').append(a); }""",
        f"{base_url}samplers/?samplers=model:{slug},seed:1,budget:1,progress:1",
    )
    page.evaluate("() => { window.__kept = true; }")
    page.locator("#nti-test-link").click()
    page.wait_for_url("**/samplers/**")
    figure = page.locator('.nti-figure[data-kind="samplers"]')
    wait_until(figure, "f => f.dataset.ready === 'true'")
    assert page.evaluate("() => window.__kept === true"), "instant navigation, not a reload"
    positions = int(figure.locator("[role=slider]").first.get_attribute("aria-valuemax"))
    wait_until(figure, f"f => f.querySelector('[role=slider]').getAttribute('aria-valuenow') === '{positions}'")
    assert slider_value(figure, 1) == 1
    assert figure.get_attribute("data-model") == slug
    budget = manifest["axes"]["calls"][1]
    steps = manifest["axes"]["steps"]["ddim"][str(budget)]
    expected = frame_file(manifest, "x", sampler="ddim", calls=budget, seed=manifest["axes"]["seeds"][1], step=steps)
    # the sliders take the link's view at once, the panels once their sheet has decoded (on a busy
    # machine a moment later): wait for the frame, then compare
    with contextlib.suppress(PlaywrightTimeout):
        wait_until(figure, f"f => f.querySelector('{PANELS}').dataset.frame === '{expected}'")
    assert panel_frames(figure)[0] == expected
    page.watch.assert_clean()


@pytest.mark.parametrize(
    "query",
    [
        "reverse=seed:-5,step:1e309,__proto__:1,constructor:2,x:<script>alert(1)</script>,model:../../evil",
        "reverse=" + "9" * 5000,
        "reverse=seed:99999999,step:NaN,step:Infinity,seed:1.5,seed:0x10",
        "reverse=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E&spectra=step:javascript:alert(1)",
    ],
)
def test_hostile_or_stale_values_load_the_default_view_quietly(page, base_url, build, query):
    figure = _figure(page, base_url + "reverse/?" + query, "reverse")
    page.wait_for_timeout(300)
    manifest = manifests(build["runs"])[(figure.get_attribute("data-model"), "reverse")]
    seed = manifest["axes"]["seeds"][0]
    assert slider_value(figure) == 0
    assert panel_frames(figure)[0] == frame_file(manifest, "x", seed=seed, step=0)
    assert figure.locator(".nti-follow").get_attribute("hidden") is not None  # the text still leads
    page.watch.assert_clean()


def test_an_old_link_falls_back_to_the_nearest_view(page, base_url, build):
    """A seed the run no longer has is ignored; a slider position past the end lands on the last step."""
    figure = _figure(page, base_url + "reverse/?reverse=seed:40,step:1", "reverse")
    manifest = manifests(build["runs"])[(figure.get_attribute("data-model"), "reverse")]
    steps, seed = manifest["axes"]["steps"], manifest["axes"]["seeds"][0]
    wait_until(figure, f"f => f.querySelector('[role=slider]').getAttribute('aria-valuenow') === '{steps - 1}'")
    assert panel_frames(figure)[0] == frame_file(manifest, "x", seed=seed, step=steps - 1)
    page.watch.assert_clean()


@pytest.mark.parametrize("experiment", [e for e in experiments.all_experiments() if e.page], ids=lambda e: e.name)
def test_every_figure_reports_exactly_its_declared_state(page, base_url, build, experiment):
    """The state a figure writes into a link (its script's getState) has exactly the keys its
    experiment declares, in the declared order, each value of its kind: the declaration that the link
    parser, the text steps' check and the download axes read is the figure's own."""
    figure = _figure(page, base_url + experiment.page.file.removesuffix(".md") + "/", experiment.name)
    figure.locator("[role=slider]").first.focus()
    figure.locator("[role=slider]").first.press("End")
    page.wait_for_function(f"() => new URL(location.href).searchParams.has({experiment.name!r})")
    written = parse_qs(urlparse(page.url).query)[experiment.name][0]
    pairs = [part.split(":", 1) for part in written.split(",") if not part.startswith("model:")]
    declared = {key: kind for key, kind in experiment.state_kinds().items() if kind != "toggle"}  # never linked
    assert [key for key, _ in pairs] == list(declared), (written, declared)
    for key, raw in pairs:
        value = float(raw)
        if declared[key] == "index":
            assert value == int(value) and value >= 0, (key, raw)
        elif declared[key] == "fraction":
            assert 0 <= value <= 1, (key, raw)
    page.watch.assert_clean()


def test_a_link_carries_a_compact_figures_view(browser):
    """On a phone a figure is compact and its views (frames, loop diagram, charts) take turns: the
    link keeps the view on show, and opens on it (stop 31's walk: it opened on the frames). The
    default site: its reverse figure (32-px frames, real labels) is compact on a 390x844 phone."""
    base_url = served(default_site())
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = _page(context)
        figure = _figure(page, base_url + "reverse/", "reverse")
        wait_until(figure, "f => f.classList.contains('nti-compact')")
        buttons = figure.locator(".nti-views button")
        assert buttons.count() >= 2, "the reverse figure is compact on a phone, with views"
        buttons.nth(1).click()
        page.wait_for_function("() => new URL(location.href).searchParams.get('reverse')?.includes('view:1')")
        link = page.evaluate("location.href")
        page.watch.assert_clean()
        again = _page(context)
        figure = _figure(again, link, "reverse")
        wait_until(figure, "f => f.querySelectorAll('.nti-views button')[1]?.getAttribute('aria-pressed') === 'true'")
        assert figure.locator(".nti-views button").first.get_attribute("aria-pressed") == "false"
        # and a stale view (past the figure's views) lands on the nearest one, without an error
        stale = _page(context)
        figure = _figure(stale, link.replace("view:1", "view:7"), "reverse")
        wait_until(
            figure, "f => f.querySelector('.nti-views button:last-child').getAttribute('aria-pressed') === 'true'"
        )
        again.watch.assert_clean()
        stale.watch.assert_clean()
    finally:
        context.close()
