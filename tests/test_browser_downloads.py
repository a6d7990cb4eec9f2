"""Each figure's Download list (downloads.js): every entry yields a file that decodes as promised (the
frame on show as PNG at the model's size and upscaled, the animations' frame count and size as GIF
and MP4, the CSV's numbers as the manifest records them), named by model, experiment and state; and
no download is fetched while a page loads."""

from __future__ import annotations

import csv
import json

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image
from site_support import CHROMIUM, manifests, tab, wait_until
from test_browser import READY, Watch

from generate import experiments

pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's /usr/bin/chromium"), pytest.mark.slow]

KINDS = ("reverse", "step_counts", "forward_backward", "mix_noise", "patch_noise", "spectra")


@pytest.fixture
def page(browser):
    with tab(browser, viewport={"width": 1280, "height": 900}, accept_downloads=True) as page:
        page.watch = Watch(page)
        yield page


def _figure(page, base_url, kind):
    page.goto(base_url + experiments.get(kind).page.file.removesuffix(".md") + "/")
    page.wait_for_function(READY, timeout=15000)
    figure = page.locator(f'.nti-figure[data-kind="{kind}"]')
    figure.scroll_into_view_if_needed()
    wait_until(figure, "f => f.dataset.ready === 'true' && !!f.querySelector('.nti-dl-button')")
    return figure


def _figure_data(build, kind, slug) -> dict:
    data = json.loads((build["site"] / "generated" / f"{kind}.json").read_text())
    return next(m for m in data["models"] if m["slug"] == slug)


def _run_folder(build, manifest):
    return next(build["runs"].glob(f"{manifest['model']['slug']}/{manifest['experiment']}/{manifest['run_key']}"))


def _check_csv(path, manifest):
    """Every row is a manifest frame (by its file): its coords and numbers exactly as recorded."""
    by_file = {f["file"]: f for f in manifest["frames"]}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows
    for row in rows:
        frame = by_file[row.pop("file")]
        for key, text in row.items():
            value = frame["coords"].get(key, frame.get("metrics", {}).get(key, ""))
            if text == "":
                assert value in ("", None), key  # None: an infinite SNR, null in the manifest
            elif isinstance(value, str):
                assert text == value, key
            else:
                assert float(text) == pytest.approx(float(value), rel=1e-12), key


@pytest.mark.parametrize("kind", KINDS)
def test_every_download_decodes_as_promised(page, base_url, build, kind):
    figure = _figure(page, base_url, kind)
    slug = figure.get_attribute("data-model")
    manifest = manifests(build["runs"])[(slug, kind)]
    model = _figure_data(build, kind, slug)
    size = model["size"]
    seeds = figure.locator(".nti-controls select")
    if kind == "reverse" and seeds.count():
        seeds.first.select_option("1")  # another state than the first: the files follow it
    button = figure.locator(".nti-dl-button")
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    count = figure.locator(".nti-dl-menu .nti-dl-item").count()
    kinds = figure.locator(".nti-dl-menu .nti-dl-item").evaluate_all("els => els.map(e => e.dataset.download)")
    assert kinds[:2] == ["png", "png-upscaled"]
    assert {"csv"} <= set(kinds) and (kind == "spectra" or {"gif", "mp4"} <= set(kinds))
    frame_file = figure.locator(".nti-figure-body .nti-panel:not(.nti-thumb) canvas[data-sheet]").first.get_attribute(
        "data-frame"
    )
    exact = np.asarray(Image.open(_run_folder(build, manifest) / frame_file).convert("RGB"))
    for index in range(count):
        if button.get_attribute("aria-expanded") != "true":
            button.click()
        entry = figure.locator(".nti-dl-menu .nti-dl-item").nth(index)
        what = entry.get_attribute("data-download")
        with page.expect_download() as info:
            entry.click()
        download = info.value
        path, name = download.path(), download.suggested_filename
        assert name.startswith(f"{slug}_{kind}_"), name
        assert button.get_attribute("aria-expanded") == "false"  # a choice closes the list
        if what.startswith("png"):
            image = np.asarray(Image.open(path).convert("RGB"))
            factor = 1 if what == "png" else max(2, round(256 / size))
            assert image.shape[:2] == (size * factor, size * factor)
            assert (image[::factor, ::factor] == exact).all(), "the frame on show, pixel for pixel"
            assert name.endswith(".png") and (what == "png" or f"_x{factor}" in name)
        elif what in ("gif", "mp4"):
            offer = next(o for o in model["downloads"]["offers"] if any(name == f"{n}.{what}" for n in o["names"]))
            frames = (
                iio.imread(path, index=None, extension=".gif")
                if what == "gif"
                else iio.imread(path, plugin="FFMPEG", extension=".mp4", index=None)
            )
            at = [f"{n}.{what}" for n in offer["names"]].index(name)
            assert frames.shape[:3] == (offer["frames"][what][at], offer["height"], offer["width"]), name
            if what == "mp4" and kind in ("mix_noise", "patch_noise"):  # the flip: n1 | o1, then n2 | o2
                assert frames.shape[0] == 2  # (a GIF merges a repeated frame, at s = 0, into a longer delay)
            if (
                kind == "reverse"
            ):  # x_T .. x_0: steps + 1 frames (MP4; a GIF merges identical neighbours), of the seed picked above
                assert (
                    frames.shape[0] == int(manifest["axes"]["steps"]) + 1
                    if what == "mp4"
                    else frames.shape[0] <= int(manifest["axes"]["steps"]) + 1
                )
                assert f"seed{manifest['axes']['seeds'][1 if seeds.count() else 0]}_" in name
        else:
            assert what == "csv" and name.endswith(".csv")
            _check_csv(path, manifest)
    # Escape closes the list and gives the focus back to the button
    button.click()
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    assert button.get_attribute("aria-expanded") == "false"
    assert page.evaluate("() => document.activeElement.classList.contains('nti-dl-button')")
    page.watch.assert_clean()


def test_no_download_is_fetched_with_a_page(browser, base_url, build):
    with tab(browser, viewport={"width": 1280, "height": 900}) as page:
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        for page_file in sorted({p.file for p in experiments.pages()}):
            page.goto(base_url + page_file.removesuffix(".md") + "/")
            page.wait_for_function(READY, timeout=15000)
            page.mouse.wheel(0, 20000)  # every figure mounts on its way past
            page.wait_for_timeout(500)
        assert requested and not [url for url in requested if "/downloads/" in url]
