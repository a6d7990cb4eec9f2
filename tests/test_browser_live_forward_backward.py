"""Live mode in the forward/backward figure (live-forward-backward.js): the reader's source (the model's sample, a
drawing, a picture file) noised to any level and denoised in the browser; where live mode cannot
run, one line says so and the figure works as before; and, on the shipped models, a live run from
the model's sample remakes the precomputed row of its level (the forward noise and DDPM's streams
are the precompute's, figure data `live_noise`)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from site_support import CHROMIUM, default_site, served, wait_until
from test_browser import READY, Watch

pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"), pytest.mark.slow]

DONE = "f => ['done', 'error', 'cancelled'].includes(f.querySelector('.nti-live').dataset.state)"


def _figure(browser, url, width=1280, init_script=None):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.watch = Watch(page)
    if init_script:
        page.add_init_script(init_script)
    page.goto(url)
    page.wait_for_function(READY, timeout=30000)
    figure = page.locator('.nti-figure[data-kind="forward_backward"]')
    figure.scroll_into_view_if_needed()
    wait_until(figure, "f => f.dataset.ready === 'true'", timeout=30000)
    return page, figure


def _run(figure, timeout=120000):
    figure.locator(".nti-live-run").click()
    wait_until(figure, DONE, timeout=timeout)
    live = figure.locator(".nti-live")
    assert live.get_attribute("data-state") == "done", live.locator(".nti-live-status").inner_text()
    return figure.locator(".nti-live-result")


def _pixels(figure, panel: str) -> np.ndarray:
    """The live panel's canvas as (H, W, 3) uint8."""
    data = figure.locator(f".nti-fb-live-{panel} canvas").evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height); return [c.width, Array.from(d.data)]; }"
    )
    size, values = data
    return np.array(values, dtype=np.uint8).reshape(size, size, 4)[..., :3]


def _png(width, height) -> bytes:
    """A picture that is not square: left half red, right half blue, a white bar across the middle."""
    array = np.zeros((height, width, 3), dtype=np.uint8)
    array[:, : width // 2] = (220, 30, 30)
    array[:, width // 2 :] = (30, 30, 220)
    array[height // 2 - 3 : height // 2 + 3] = 255
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def test_the_stream_seeds_and_viridis_are_the_precomputes(browser, base_url, build):
    from generate.core.measure import VIRIDIS
    from generate.core.sampling import stream_seed
    from generate.experiments.forward_backward.figure import live_noise

    noise = live_noise({"noise_seed": 7, "noise": "independent"}, 5)
    assert noise["seed"] == stream_seed("forward_backward.noise", 7) and noise["rows"] == 5 and noise["per_level"]
    assert noise["ddpm_seeds"] == [stream_seed(f"forward_backward.ddpm.{k}", 7) for k in range(5)]
    assert live_noise({"noise": "source", "source_seed": 3}, 5)["seed"] == 3
    page, _ = _figure(browser, base_url + "forward-backward/")
    # live-forward-backward.js is imported on the first "Try it live" (live.js lazy); import it as that button does
    table = page.evaluate(
        "() => import(new URL('../assets/js/live-forward-backward.js', location.href).href)"
        ".then((m) => Array.from(m.LiveForwardBackward.VIRIDIS))"
    )
    assert table == VIRIDIS.reshape(-1).tolist()
    page.watch.assert_clean()
    page.close()


def test_a_drawing_and_a_picture_file_run_live(browser, base_url, build):
    page, figure = _figure(browser, base_url + "forward-backward/")
    figure.locator(".nti-live-toggle").click()
    form = figure.locator(".nti-live-form")
    form.get_by_label("Source").select_option("1")  # a drawing
    pad = figure.locator(".nti-fb-pad")
    assert pad.is_visible()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 40, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + 150, box["y"] + 150, steps=8)
    page.mouse.up()
    assert int(pad.get_attribute("data-drawn")) > 0
    steps = int(form.get_by_label("Level").get_attribute("max"))
    form.get_by_label("Level").fill("2")
    result = _run(figure)
    assert "Computed live in your browser" in result.locator(".nti-live-mark").inner_text()
    assert result.get_attribute("data-source") == "draw" and result.get_attribute("data-level") == "1"
    assert result.locator(".nti-panel").count() == 5
    original = _pixels(figure, "original")
    assert original.max() > 200 and original.min() < 50, "the drawn stroke (white on black) is the source"
    assert float(result.get_attribute("data-distance")) >= 0
    assert "live" in result.locator(".nti-fb-live-distance").inner_text()
    assert result.locator(".nti-fb-live-point").count() == 1
    # the step slider over the live trajectory: n - k + 1 positions, the last the reconstruction
    slider = result.locator("[role=slider]")
    assert slider.get_attribute("aria-valuemax") == str(steps - 1)
    assert np.array_equal(_pixels(figure, "current"), _pixels(figure, "recon"))
    slider.focus()
    slider.press("Home")
    assert np.array_equal(_pixels(figure, "current"), _pixels(figure, "noised"))

    # a picture from disk: centre-cropped (the middle of a wide picture: red left, blue right), resized
    form.get_by_label("Source").select_option("2")
    figure.locator(".nti-fb-file input[type=file]").set_input_files(
        {"name": "wide.png", "mimeType": "image/png", "buffer": _png(96, 48)}
    )
    wait_until(figure, "f => f.querySelector('.nti-fb-file-note').textContent.includes('wide.png')")
    result = _run(figure)
    assert result.get_attribute("data-source") == "file"
    source = _pixels(figure, "original").astype(int)
    size = source.shape[0]
    left, right = source[2, 2], source[2, size - 3]
    if left[0] != left[2]:  # a colour model: red on the left, blue on the right
        assert left[0] > left[2] + 80 and right[2] > right[0] + 80, (left, right)
    assert source[size // 2].mean() > source[2].mean() + 60, "the white bar across the middle"
    page.watch.assert_clean()
    page.close()


def test_without_webassembly_one_line_says_so_and_the_figure_works(browser, base_url, build):
    page, figure = _figure(browser, base_url + "forward-backward/", init_script="delete window.WebAssembly")
    off = figure.locator(".nti-live-off")
    assert off.count() == 1 and off.inner_text() == "Live mode unavailable: this browser has no WebAssembly."
    assert figure.locator(".nti-live-toggle").count() == 0
    noised = "f => f.querySelector('.nti-panels .nti-panel:nth-child(2)').dataset.frame"
    wait_until(figure, f"f => !!({noised})(f)")
    before = figure.evaluate(noised)
    thumb = figure.locator("[role=slider]").first
    thumb.focus()
    thumb.press("End" if thumb.get_attribute("aria-valuenow") == "0" else "Home")  # the text may have set a level
    wait_until(figure, f"f => ({noised})(f) !== {before!r}")
    page.watch.assert_clean()
    page.close()


# --- on the shipped models: a live run remakes the precomputed frames -----------------------------


@pytest.fixture(scope="module")
def shipped():
    site = default_site()
    return site, served(site)


def _frame(folder: Path, manifest: dict, **coords) -> np.ndarray:
    from site_support import frame_file

    with Image.open(folder / frame_file(manifest, "x", **coords)) as im:
        return np.asarray(im.convert("RGB"))


@pytest.mark.parametrize("model_index", [0, 1])
def test_a_live_run_from_the_models_sample_remakes_the_precomputed_row(browser, shipped, model_index):
    from generate.site.runs import latest_runs

    site, url = shipped
    page, figure = _figure(browser, url + "forward-backward/")
    models = figure.locator(".nti-figure-head select")
    if model_index:
        if not models.count():
            pytest.skip("one model in this build")
        first = figure.get_attribute("data-model")
        models.select_option(str(model_index))
        wait_until(figure, f"f => f.dataset.model !== {first!r} && f.dataset.ready === 'true'", timeout=30000)
    slug = figure.get_attribute("data-model")
    figure.locator(".nti-live-toggle").click()
    form = figure.locator(".nti-live-form")
    steps = int(form.get_by_label("Level").get_attribute("max"))
    # one start level per model (each a whole live run in the browser's WebAssembly, 25 to 50 steps):
    # the first model from the cleanest level, the second from halfway
    for k in (0,) if model_index == 0 else (steps // 2,):
        form.get_by_label("Level").fill(str(k + 1))
        result = _run(figure)
        assert result.get_attribute("data-source") == "sample" and result.get_attribute("data-level") == str(k)
        run = latest_runs(site["runs"])[(slug, "forward_backward")]  # the run the site shows
        folder, manifest = run.folder, run.manifest
        noised = np.abs(_pixels(figure, "noised").astype(int) - _frame(folder, manifest, level=k, step=0)).max()
        recon = np.abs(_pixels(figure, "recon").astype(int) - _frame(folder, manifest, level=k, step=steps - k)).max()
        distance = float(result.get_attribute("data-distance"))
        diff = next(
            f for f in manifest["frames"] if f["coords"].get("panel") == "diff" and int(f["coords"]["level"]) == k
        )
        print(
            f"\n[live fb] {slug} level {k}: max |live - precomputed| noised {noised}, reconstruction {recon} "
            f"(of 255); distance live {distance:.4f}, precomputed {diff['metrics']['distance']:.4f}"
        )
        assert noised <= 1, "the forward noise is the precompute's"
        assert recon <= 2
        assert abs(distance - diff["metrics"]["distance"]) <= 0.02 * diff["metrics"]["distance"] + 0.05
    page.watch.assert_clean()
    page.close()
