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


def _open(page, base_url):
    page.watch = Watch(page)
    page.goto(base_url + page_of("guidance"))
    page.wait_for_function(READY, timeout=15000)
    figure = page.locator('.nti-figure[data-kind="guidance"]')
    mounted(figure)
    return figure


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


def test_class_picker_scale_and_step_sliders_show_the_cell_picked(page, base_url, build):
    figure = _open(page, base_url)
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


@pytest.mark.slow
def test_each_finished_picture_says_what_the_classifier_found(page):
    shipped = default_site()
    figure = _open(page, served(shipped))
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


def _png(path):
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def _live_canvases(live) -> list:
    import numpy as np

    arrays = live.locator(".nti-live-panels canvas").evaluate_all(
        "cs => cs.map(c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data))"
    )
    sizes = live.locator(".nti-live-panels canvas").evaluate_all("cs => cs.map(c => c.width)")
    return [np.array(a, dtype=np.int16).reshape(s, s, 4)[..., :3] for a, s in zip(arrays, sizes)]


def _live_run(page, live, label: int, scale: str, seed: int, steps: int) -> dict:
    live.locator("select").select_option(str(label))
    for name, value in (("Guidance scale w", scale), ("Seed", seed), ("Steps", steps)):
        field = live.get_by_label(name, exact=True)
        field.fill(str(value))
        field.dispatch_event("change")
    live.locator(".nti-live-run").click()
    page.wait_for_function(
        "el => ['done', 'error'].includes(el.dataset.state)", arg=live.element_handle(), timeout=120000
    )
    assert live.get_attribute("data-state") == "done", live.locator(".nti-live-status").inner_text()
    return live.locator(".nti-live-result").evaluate("e => ({...e.dataset})")


@pytest.mark.slow
def test_live_guidance_remakes_the_precomputed_cell_with_both_branches_in_one_call(page):
    """Live mode on the shipped conditional model: a (class, w, seed) cell of the grid sampled in the
    browser (ONNX Runtime Web, the class and "no class" copies of x_t as one batch of 2 a step) gives
    the precomputed frames within 2 levels, at the final and half way; one network call per step
    however many branches; and a scale off the grid (w = 2.5) runs too."""
    import numpy as np

    shipped = default_site()
    figure = _open(page, served(shipped))
    slug = figure.get_attribute("data-model")
    manifest = manifests(shipped["runs"])[(slug, "guidance")]
    [folder] = [p.parent for p in shipped["runs"].glob(f"{slug}/guidance/*/manifest.json")]
    axes = manifest["axes"]
    label, seed, steps = axes["labels"][2], axes["seeds"][1], int(axes["steps"])
    scale = next(float(w) for w in axes["scales"] if float(w) > 1.5)  # both branches in every call
    figure.locator(".nti-live-toggle").click()
    live = figure.locator(".nti-live")
    live.locator(".nti-live-run").wait_for()
    result = _live_run(page, live, label, f"{scale:g}", seed, steps)
    assert (int(result["label"]), float(result["scale"]), int(result["seed"])) == (label, scale, seed)
    assert int(result["calls"]) == steps, "one network call a step, both branches in it"
    assert "both predictions in one network call a step" in live.locator(".nti-live-mark").inner_text()
    worst = {}
    thumb = live.locator(".nti-live-result [role=slider]")
    for step in (steps, steps // 2):
        thumb.focus()
        page.keyboard.press("End")
        for _ in range(steps - step):
            page.keyboard.press("ArrowLeft")
        x, x0 = _live_canvases(live)
        cell = dict(label=label, scale=scale, seed=seed)
        want_x = _png(folder / frame_file(manifest, "x", **cell, step=step))
        want_x0 = _png(folder / frame_file(manifest, "x0", **cell, step=min(step, steps - 1)))
        worst[step] = (int(np.abs(x - want_x).max()), int(np.abs(x0 - want_x0).max()))
    print(f"\nlive guidance {slug}, class {label}, w = {scale}, seed {seed}: max |live - precomputed| {worst}")
    assert all(max(levels) <= 2 for levels in worst.values()), worst
    off_grid = _live_run(page, live, label, "2.5", seed, steps)
    assert float(off_grid["scale"]) == 2.5 and int(off_grid["calls"]) == steps
    assert not np.array_equal(_live_canvases(live)[0], want_x), "w = 2.5 is not the grid's picture"
    page.watch.assert_clean()
