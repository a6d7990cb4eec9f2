"""The guidance figure in Chromium: the class picker, the guidance-scale slider and the step slider
show the manifest's frames of the (class, scale) cell picked, every seed side by side; at w = 0 every
class shows the same pixels; the chart's marker follows the scale; and on the shipped conditional
model each finished picture is captioned with the class the precompute's classifier found (✓ where
it is the class asked for), and the status line counts them."""

from __future__ import annotations

import pytest
from site_support import CHROMIUM, default_site, frame_file, manifests, page_of, served
from test_browser import READY, Watch, assert_canvases_match_frames, mounted, panel_frames, slider_value

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium")


def _open(browser, base_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.watch = Watch(page)
    page.goto(base_url + page_of("guidance"))
    page.wait_for_function(READY, timeout=15000)
    figure = page.locator('.nti-figure[data-kind="guidance"]')
    mounted(figure)
    return context, page, figure


def _expected(manifest, label: int, scale: float, step: int) -> list[str]:
    axes = manifest["axes"]
    cell = dict(label=label, scale=scale)
    return [frame_file(manifest, "x", **cell, seed=s, step=step) for s in axes["seeds"]] + [
        frame_file(manifest, "x0", **cell, seed=s, step=min(step, axes["steps"] - 1)) for s in axes["seeds"]
    ]


def _pixels(figure) -> list[list[int]]:
    return figure.locator(".nti-panels .nti-panel canvas").evaluate_all(
        "cs => cs.map(c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data))"
    )


def test_class_picker_scale_and_step_sliders_show_the_cell_picked(browser, base_url, build):
    context, page, figure = _open(browser, base_url)
    manifest = manifests(build["runs"])[(figure.get_attribute("data-model"), "guidance")]
    axes = manifest["axes"]
    labels, scales, steps = axes["labels"], [float(w) for w in axes["scales"]], int(axes["steps"])
    scale_thumb, step_thumb = figure.locator("[role=slider]").nth(0), figure.locator("[role=slider]").nth(1)
    picker = figure.locator(".nti-controls select")
    assert picker.locator("option").count() == len(labels)
    # first view: the first class, the plain conditional scale where there is one, the finished pictures
    first = scales.index(1.0) if 1.0 in scales else 0
    assert slider_value(figure, 0) == first and slider_value(figure, 1) == steps
    assert panel_frames(figure) == _expected(manifest, labels[0], scales[first], steps)
    marks = []
    for w in range(len(scales)):
        scale_thumb.focus()
        page.keyboard.press("Home")
        for _ in range(w):
            page.keyboard.press("ArrowRight")
        assert slider_value(figure, 0) == w
        marks.append(figure.locator("line.nti-chart-marker").get_attribute("x1"))
        for k, label in enumerate(labels):
            picker.select_option(str(k))
            for step in (0, steps // 2, steps):
                step_thumb.focus()
                page.keyboard.press("Home")
                for _ in range(step):
                    page.keyboard.press("ArrowRight")
                assert panel_frames(figure) == _expected(manifest, label, scales[w], step), (label, scales[w], step)
    assert len(set(marks)) == len(scales), "the chart's marker follows the scale"
    # the pixels drawn are the frames' (sheets decode exactly), and at w = 0 the class has no say
    assert_canvases_match_frames(figure, next(build["runs"].glob(f"{figure.get_attribute('data-model')}/guidance/*/")))
    scale_thumb.focus()
    page.keyboard.press("Home")
    shown = []
    for k in range(len(labels)):
        picker.select_option(str(k))
        page.wait_for_function(
            "([f, want]) => f.querySelector('.nti-panel').dataset.frame === want",
            arg=[figure.element_handle(), _expected(manifest, labels[k], scales[0], steps)[0]],
        )
        shown.append(_pixels(figure))
    assert all(s == shown[0] for s in shown), "at w = 0 every class shows the same pictures"
    page.watch.assert_clean()
    context.close()


@pytest.mark.slow
def test_each_finished_picture_says_what_the_classifier_found(browser):
    shipped = default_site()
    context, page, figure = _open(browser, served(shipped))
    manifest = manifests(shipped["runs"])[(figure.get_attribute("data-model"), "guidance")]
    axes = manifest["axes"]
    names, labels, steps = axes["class_names"], axes["labels"], int(axes["steps"])
    finals = {
        (f["coords"]["label"], float(f["coords"]["scale"]), f["coords"]["seed"]): f["metrics"]
        for f in manifest["frames"]
        if f["coords"]["panel"] == "x" and f["coords"]["step"] == steps
    }
    picker = figure.locator(".nti-controls select")
    for k in (0, len(labels) - 1):
        picker.select_option(str(k))
        captions = figure.locator(".nti-panels").first.locator("figcaption").all_inner_texts()
        w = float(axes["scales"][slider_value(figure, 0)])
        for seed, caption in zip(axes["seeds"], captions):
            found = finals[(labels[k], w, seed)]["found"]
            mark = "✓" if found == labels[k] else "✗"
            assert caption.split("\n") == [f"seed {seed}", f"{mark} {names[labels.index(found)]}"], caption
        right = sum(finals[(labels[k], w, s)]["correct"] for s in axes["seeds"])
        info = figure.locator(".nti-info").first.inner_text()
        assert info.endswith(f"finished, {round(right)} of {len(axes['seeds'])} ✓"), info
    page.watch.assert_clean()
    context.close()
