"""Site build: pages from a real (tiny) precompute, figure data that matches the manifests exactly,
lossless sprite sheets, newest-run selection, escaping, and clear errors for broken runs."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from site_support import lesson_paths, manifests, page_of

from generate.errors import UsageError
from generate.site.build import build_site
from generate.site.runs import latest_runs

REPO = Path(__file__).resolve().parents[1]

PAGES = ["index.html"] + [f"{path}index.html" for path in lesson_paths()]


def _figure_data(site: Path, experiment: str) -> dict:
    return json.loads((site / "generated" / f"{experiment}.json").read_text())


def _refs(value):
    """Every frame reference [sheet, cell, file] anywhere in a figure's data."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[2], str) and value[2].startswith("frames/"):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _refs(item)


def test_pages_exist_with_policy_and_no_third_party(build):
    for page in PAGES:
        html = (build["site"] / page).read_text()
        assert 'http-equiv="Content-Security-Policy"' in html
        assert "NTI-CSP-SCRIPT-HASHES" not in html and "unsafe-inline" not in html
        assert "fonts.googleapis" not in html and "fonts.gstatic" not in html and "cdn" not in html.lower()
    figures = (build["site"] / "reverse/index.html").read_text()
    assert 'data-kind="reverse"' in figures and 'role="slider"' not in figures  # controls are built by JS


def test_a_number_and_its_percent_sign_never_part(build):
    """Every page writes "90 %" with a no-break space: a plain one let "0 %" break after the 0 on a
    phone. Checked on the built HTML of every lesson (the words come from the tiny runs' facts)."""
    pages = {path: (build["site"] / path / "index.html").read_text(encoding="utf-8") for path in lesson_paths()}
    broken = {path: re.findall(r".{20}\d %", text) for path, text in pages.items() if re.search(r"\d %", text)}
    assert not broken, broken
    assert sum(text.count("\u00a0%") for text in pages.values()) >= len(pages) // 2, "the pages speak of shares"


def test_a_page_names_its_figures_modules_and_preloads_only_the_shared_ones(build):
    """ES modules: one entry script (main.js, type=module); each figure names its own module
    (data-script, from the experiment's Page.script), which exports the figure under its kind and is
    imported only when the figure mounts; the entry's static imports are preloaded, the lazy ones not."""
    from generate import experiments

    site, js = build["site"], REPO / "site_src/assets/js"
    shared = set(re.findall(r'^import [^;]*from "\./([^"]+)";', (js / "main.js").read_text(), re.M))
    assert shared and "figure-shell.js" in shared
    for experiment in experiments.all_experiments():
        if not experiment.page:
            continue
        page = (site / page_of(experiment.name) / "index.html").read_text()
        assert re.findall(r'<script src="[^"]*assets/js/([^"]+)" type="module">', page) == ["main.js"]
        script = re.search(r'data-kind="%s"[^>]*data-script="([^"]+)"' % experiment.name, page).group(1)
        module = (site / page_of(experiment.name) / script).resolve()
        assert module.is_file() and module.name == experiment.page.script.name
        assert re.search(r"^export const %s = \{" % experiment.name, module.read_text(), re.M)
        preloaded = set(re.findall(r'<link rel="modulepreload" href="[^"]*assets/js/([^"]+)"', page))
        assert shared <= preloaded, shared - preloaded
        assert not any(name.startswith(("fig-", "live")) for name in preloaded), preloaded  # imported when needed
        assert all((site / "assets/js" / name).is_file() for name in preloaded)


def test_every_frame_reference_is_a_manifest_frame_and_the_sheet_cell_is_lossless(build):
    runs = build["runs"]
    by_run = manifests(runs)
    for experiment in ("reverse", "schedules", "step_counts", "forward_backward", "patch_noise", "mix_noise"):
        data = _figure_data(build["site"], experiment)
        assert {m["slug"] for m in data["models"]} == {slug for slug, e in by_run if e == experiment}
        for model in data["models"]:
            manifest = by_run[(model["slug"], experiment)]
            files = {f["file"] for f in manifest["frames"]}
            run_dir = next(runs.glob(f"{model['slug']}/{experiment}/*/"))
            refs = list(_refs(model))
            assert refs and {r[2] for r in refs} <= files
            size = model["size"]
            for sheet_index, cell, name in refs[:: max(1, len(refs) // 25)]:
                sheet_info = model["sheets"][sheet_index]
                sheet = Image.open(build["site"] / "generated" / sheet_info["url"]).convert("RGB")
                x, y = (cell % sheet_info["cols"]) * size, (cell // sheet_info["cols"]) * size
                got = np.asarray(sheet.crop((x, y, x + size, y + size)))
                want = np.asarray(Image.open(run_dir / name).convert("RGB"))
                assert np.array_equal(got, want), f"{experiment} {name}: sheet cell differs from the frame"


def test_similar_noise_page_states_the_correlation_from_the_data(build):
    """The r the page prints for each model is the Pearson correlation of (noise distance, output
    distance) over that model's mix and patch pairs, computed here from the manifests on their own."""
    text = "".join(
        (build["site"] / page_of(name) / "index.html").read_text()
        for name in sorted({"mix_noise", "patch_noise"}, key=page_of)
    )
    found = manifests(build["runs"])
    for slug in sorted({slug for slug, _ in found}):
        pairs = [
            (f["metrics"]["noise_distance"], f["metrics"]["output_distance"])
            for experiment in ("mix_noise", "patch_noise")
            for f in found[(slug, experiment)]["frames"]
            if f["coords"].get("panel") == "n2"
        ]
        r = float(np.corrcoef(np.array(pairs).T)[0, 1])
        assert (
            f"Pearson correlation between noise distance and output distance is <strong>r = {r:.2f}</strong>" in text
        ), (slug, r)
    assert "r = n/a" not in text


def test_newest_run_per_model_and_experiment_wins(build, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(build["runs"], runs)
    original = next(runs.glob("*/reverse/*/"))
    newer = original.parent / "zz-newer"
    shutil.copytree(original, newer)
    record = json.loads((newer / "run.json").read_text())
    record["finished_ns"] += 10
    (newer / "run.json").write_text(json.dumps(record))
    chosen = latest_runs(runs)
    assert chosen[(original.parent.parent.name, "reverse")].folder == newer
    record["finished_ns"] -= 20
    (newer / "run.json").write_text(json.dumps(record))
    assert latest_runs(runs)[(original.parent.parent.name, "reverse")].folder == original


def _one_run_copy(build, tmp_path, experiment="reverse") -> Path:
    """A runs folder holding one run of the colour model (cheap to build)."""
    source = next(build["runs"].glob(f"tiny-rgb*/{experiment}/*/"))
    target = tmp_path / "runs" / source.parent.parent.name / experiment / source.name
    shutil.copytree(source, target)
    return target


def test_missing_frame_stops_the_build_naming_the_file(build, tmp_path):
    run = _one_run_copy(build, tmp_path)
    (run / "frames/s0/eps/0001.png").unlink()
    with pytest.raises(UsageError) as error:
        build_site(tmp_path / "runs", tmp_path / "site")
    assert str(run / "manifest.json") in str(error.value) and "frames/s0/eps/0001.png" in str(error.value)


def test_unreadable_frame_stops_the_build_naming_the_file(build, tmp_path):
    run = _one_run_copy(build, tmp_path)
    (run / "frames/s0/x0/0002.png").write_bytes(b"not a png")
    with pytest.raises(UsageError, match="frames/s0/x0/0002.png"):
        build_site(tmp_path / "runs", tmp_path / "site")


@pytest.mark.parametrize("damage", ["{ not json", "[]", '{"schema": 1}'])
def test_malformed_manifest_stops_the_build_naming_the_file(build, tmp_path, damage):
    run = _one_run_copy(build, tmp_path)
    (run / "manifest.json").write_text(damage)
    with pytest.raises(UsageError) as error:
        build_site(tmp_path / "runs", tmp_path / "site")
    assert str(run / "manifest.json") in str(error.value)


def test_cli_reports_a_missing_runs_folder(tmp_path, capsys):
    from generate.cli import main

    assert main(["site", "--runs", str(tmp_path / "nope"), "--out", str(tmp_path / "site")]) == 2
    assert "nope" in capsys.readouterr().err


def test_manifest_strings_are_escaped(build, tmp_path):
    run = _one_run_copy(build, tmp_path)
    manifest = json.loads((run / "manifest.json").read_text())
    hostile = '<img src=x onerror="alert(1)">&</script>'
    manifest["model"]["label"] = hostile  # labels are outside frames_sha256, so the manifest stays valid
    (run / "manifest.json").write_text(json.dumps(manifest))
    build_site(tmp_path / "runs", tmp_path / "site")
    html = (tmp_path / "site/reverse/index.html").read_text()
    assert hostile not in html and "<img src=x" not in html
    assert "&lt;img src=x" in html
    data = json.loads((tmp_path / "site/generated/reverse.json").read_text())
    assert data["models"][0]["label"] == hostile  # JSON is fetched and put in the page as text, never as HTML


def test_similar_noise_statistics_on_synthetic_numbers():
    from generate.experiments.similar_noise.stats import coin, interpolate, pearson

    assert pearson([0, 20, 40], [0, 6, 20]) == pytest.approx(400 / (800 * 632 / 3) ** 0.5)
    curve = [(0, 0), (20, 6), (40, 20)]
    assert interpolate(curve, 10) == 3 and interpolate(curve, 30) == 13 and interpolate(curve, 50) is None
    assert not coin(101, 216)["tendency"] and (coin(101, 216)["low"], coin(101, 216)["high"]) == (94, 122)


def test_rebuilding_after_a_new_run_shows_the_new_run(build, tmp_path):
    run = _one_run_copy(build, tmp_path)
    build_site(tmp_path / "runs", tmp_path / "site")
    newer = run.parent / "newer-run"
    shutil.copytree(run, newer)
    manifest = json.loads((newer / "manifest.json").read_text())
    manifest["model"]["label"] = "the newer run"
    (newer / "manifest.json").write_text(json.dumps(manifest))
    record = json.loads((newer / "run.json").read_text())
    record["finished_ns"] += 1
    (newer / "run.json").write_text(json.dumps(record))
    build_site(tmp_path / "runs", tmp_path / "site")
    data = json.loads((tmp_path / "site/generated/reverse.json").read_text())
    assert [m["label"] for m in data["models"]] == ["the newer run"]
    assert "the newer run" in (tmp_path / "site/reverse/index.html").read_text()


def test_a_lesson_without_runs_is_left_out_nav_and_overview_included(build, tmp_path):
    """A build of the reverse runs alone (as a build of unconditional models has no guidance run):
    the lessons with no run get no page, no nav entry and no line on the overview."""
    from generate import experiments

    _one_run_copy(build, tmp_path)
    build_site(tmp_path / "runs", tmp_path / "site")
    site = tmp_path / "site"
    index = (site / "index.html").read_text()
    assert (site / "reverse" / "index.html").is_file() and 'href="reverse/"' in index
    for page in experiments.pages():
        folder = page.file.removesuffix(".md")
        if folder != "reverse":
            assert not (site / folder).exists(), folder
            assert f'href="{folder}/"' not in index, folder


def test_model_cards_become_pages_in_the_nav_and_are_linked_from_the_index(build, tmp_path):
    run = _one_run_copy(build, tmp_path)
    slug = run.parents[1].name  # the model of the runs: its card is a page; a card of another is not
    cards = tmp_path / "models"
    (cards / "not-in-the-runs").mkdir(parents=True)
    (cards / "not-in-the-runs" / "config.json").write_text("{}")
    (cards / "not-in-the-runs" / "README.md").write_text("# Model card: `not-in-the-runs`\n")
    card = cards / slug
    card.mkdir(parents=True)
    (card / "config.json").write_text("{}")
    (card / "README.md").write_text(
        f"# Model card: `{slug}`\n\n![Training loss](loss.svg)\n\n![Samples](samples.png)\n"
    )
    (card / "loss.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>')
    Image.new("L", (4, 4)).save(card / "samples.png")
    (card / "classifier.safetensors").write_bytes(b"weights stay out of the site")
    (cards / "no-card-yet").mkdir()
    (cards / "no-card-yet" / "config.json").write_text("{}")
    site_src = tmp_path / "site_src"
    shutil.copytree(
        Path(__file__).resolve().parents[1] / "site_src",
        site_src,
        ignore=shutil.ignore_patterns("generated", "frames", "models", "*.md"),
    )
    result = build_site(run.parents[2], tmp_path / "site", site_src=site_src, cards_dir=cards)
    assert result["cards"] == [slug]  # "Models in this build": not the card of a model without runs
    assert not (tmp_path / "site/models/not-in-the-runs").exists()
    page = tmp_path / f"site/models/{slug}/index.html"
    html = page.read_text()
    assert "Model card" in html and 'src="loss.svg"' in html and 'src="samples.png"' in html
    assert (page.parent / "loss.svg").is_file() and (page.parent / "samples.png").is_file()
    assert not (page.parent / "classifier.safetensors").exists()
    assert not (tmp_path / "site/models/no-card-yet").exists()
    index = (tmp_path / "site/index.html").read_text()
    assert f'href="models/{slug}/"' in index
    assert "Models" in index and index.count(f"models/{slug}/") >= 2  # nav entry and the text link


def test_sheets_never_mix_grey_and_colour_frames_and_stay_per_track(build):
    runs = build["runs"]
    for experiment in ("reverse", "schedules", "step_counts", "forward_backward", "patch_noise", "mix_noise"):
        for model in _figure_data(build["site"], experiment)["models"]:
            run_dir = next(runs.glob(f"{model['slug']}/{experiment}/*/"))
            modes: dict[int, set] = {}
            for sheet, _, name in _refs(model):
                modes.setdefault(sheet, set()).add(Image.open(run_dir / name).mode)
            assert all(len(m) == 1 for m in modes.values()), (experiment, modes)
            assert all("group" in s and s["bytes"] > 0 for s in model["sheets"])
    reverse = _figure_data(build["site"], "reverse")["models"][0]
    for index, seed in enumerate(reverse["seeds"]):  # one seed's frames never share a sheet with another's
        assert {r[0] for r in _refs(seed)} == {i for i, s in enumerate(reverse["sheets"]) if s["group"] == index}


def test_step_counts_ship_only_the_frames_the_slider_reaches():
    from generate.experiments.step_counts.figure import progress_index, progress_positions

    assert progress_positions([2, 5]) == 5  # short runs: one position per step of the longest
    assert progress_positions([10, 50, 1000]) == 200
    assert progress_positions([7, 11, 1000]) == 231  # a multiple of 7 and 11, so their steps all stay reachable
    assert progress_positions([300, 1000]) == 300 * 1
    for counts in ([10, 50, 1000], [7, 11, 1000]):
        positions = progress_positions(counts)
        for n in counts[:-1]:
            assert {progress_index(p, positions, n) for p in range(positions + 1)} == set(range(n + 1))
    reached = {progress_index(p, 200, 1000) for p in range(201)}
    assert len(reached) == 201 and 1000 in reached and 0 in reached


def test_a_rebuild_re_encodes_only_the_runs_that_changed(build, tmp_path, monkeypatch):
    from generate.site import sprites

    runs = tmp_path / "runs"
    shutil.copytree(build["runs"], runs)
    site_src = tmp_path / "site_src"
    shutil.copytree(
        REPO / "site_src", site_src, ignore=shutil.ignore_patterns("generated", "frames", ".cache", "models")
    )
    writes = []
    real_write = sprites.SheetWriter.write
    monkeypatch.setattr(sprites.SheetWriter, "write", lambda self: writes.append(self.out_dir) or real_write(self))
    build_site(runs, tmp_path / "site", site_src=site_src)
    first = len(writes)
    assert first == len(list(runs.glob("*/*/*/manifest.json")))
    build_site(runs, tmp_path / "site", site_src=site_src)
    assert len(writes) == first  # nothing re-encoded
    path = next(runs.glob("tiny-rgb*/mix_noise/*/manifest.json"))
    manifest = json.loads(path.read_text())
    manifest["model"]["label"] = "renamed"
    path.write_text(json.dumps(manifest))
    build_site(runs, tmp_path / "site", site_src=site_src)
    assert len(writes) == first + 1 and "mix_noise" in str(writes[-1])
    assert (tmp_path / "site" / "generated" / "mix_noise.json").read_text().count("renamed") == 1


def _entry(cache: Path, name: str, size: int, mtime: float, whole: bool = True) -> Path:
    entry = cache / name
    (entry / "sheets").mkdir(parents=True)
    (entry / "sheets" / "sheet000.png").write_bytes(b"x" * size)
    if whole:
        (entry / "figure.json").write_text("{}")
    os.utime(entry, (mtime, mtime))
    return entry


def test_sheet_cache_prune_keeps_this_build_and_the_most_recent_others_within_budget(tmp_path):
    from generate.site.cache import prune

    cache, started = tmp_path / "cache", 1_000_000.0
    _entry(cache, "used-now", 5000, started + 3)
    _entry(cache, "old-recent", 400, started - 100)
    _entry(cache, "old-older", 400, started - 200)
    _entry(cache, "old-oldest", 400, started - 300)
    _entry(cache, "half-written", 10, started - 50, whole=False)
    result = prune(cache, started, spare_bytes=1000)
    assert sorted(p.name for p in cache.iterdir()) == ["old-older", "old-recent", "used-now"]
    assert result == {"kept": 3, "removed": 2}


def test_site_build_prunes_its_cache_to_the_runs_it_used(build, tmp_path):
    from generate.site.cache import prune

    run = _one_run_copy(build, tmp_path)
    cache = tmp_path / "cache"
    build_site(tmp_path / "runs", tmp_path / "site", cache=cache)
    assert len(list(cache.iterdir())) == 1
    first_entry = next(cache.iterdir())
    os.utime(first_entry, (time.time() - 60, time.time() - 60))  # used a minute ago
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["model"]["label"] = "another label, so another manifest hash"
    (run / "manifest.json").write_text(json.dumps(manifest))
    started = time.time()
    build_site(tmp_path / "runs", tmp_path / "site", cache=cache)
    assert len(list(cache.iterdir())) == 2  # the first build's entry is within the spare budget
    prune(cache, started, spare_bytes=0)
    (left,) = cache.iterdir()
    assert left != first_entry and (left / "figure.json").is_file()


def _mosaic_cell(mosaic: Image.Image, size: int, gap: int, r: int, c: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell (r, c) of a triangle mosaic: its colour channels and its alpha."""
    x, y = c * (size + gap), r * (size + gap)
    cell = np.asarray(mosaic.crop((x, y, x + size, y + size)))
    return cell[..., :-1], cell[..., -1]


def test_forward_backward_triangle_mosaics_hold_the_manifest_frames(build):
    """Both mosaics exist beside the sheets at their stated size; every filled cell (k, m) is the manifest
    frame L{k}/{m-k} pixel for pixel, opaque; empty cells and gaps are transparent; neither is a sheet."""
    from site_support import frame_file

    runs, site = build["runs"], build["site"]
    by_run = manifests(runs)
    for model in _figure_data(site, "forward_backward")["models"]:
        manifest = by_run[(model["slug"], "forward_backward")]
        run_dir = next(runs.glob(f"{model['slug']}/forward_backward/*/"))
        levels, steps = [int(k) for k in manifest["axes"]["levels"]], int(manifest["axes"]["steps"])
        tri, size = model["triangle"], model["size"]
        gap, pitch = tri["gap"], size + tri["gap"]
        assert tri["cell"] == size and gap >= 1
        assert tri["full"]["rows"] == levels and tri["full"]["cols"] == list(range(levels[0], steps + 1))
        grid = tri["grid"]
        assert grid["rows"][0] == levels[0] and grid["rows"][-1] == levels[-1] and set(grid["rows"]) <= set(levels)
        assert grid["cols"][0] == levels[0] and grid["cols"][-1] == steps and 2 <= len(grid["rows"]) <= 11
        sheet_urls = {s["url"] for s in model["sheets"]}
        for name in ("grid", "full"):
            info = tri[name]
            assert info["url"] == f"../frames/{model['slug']}/forward_backward/triangle-{name}.png"
            assert info["url"] not in sheet_urls
            path = site / "generated" / info["url"]
            assert path.is_file() and path.stat().st_size == info["bytes"]
            mosaic = Image.open(path)
            mode = "LA" if model["channels"] == 1 else "RGBA"
            assert mosaic.format == "PNG" and mosaic.mode == mode
            rows, cols = info["rows"], info["cols"]
            assert mosaic.size == (info["width"], info["height"]) == (len(cols) * pitch - gap, len(rows) * pitch - gap)
            for r, k in enumerate(rows):
                for c, m in enumerate(cols):
                    colour, alpha = _mosaic_cell(mosaic, size, gap, r, c)
                    if m < k:
                        assert not alpha.any(), (name, k, m)  # the empty lower-left half
                        continue
                    frame = Image.open(run_dir / frame_file(manifest, "x", level=k, step=m - k))
                    want = np.asarray(frame.convert(mode[:-1]))
                    assert np.array_equal(colour.reshape(want.shape), want), f"{name} cell L{k}/{m - k} differs"
                    assert (alpha == 255).all()
            array = np.asarray(mosaic)
            assert not array[size : size + gap, :, -1].any() and not array[:, size : size + gap, -1].any()  # gaps
        # a given cell, spelled out: the second level shown, after (up to) three denoising steps
        k = grid["rows"][1]
        j = min(3, steps - k)
        full = Image.open(site / "generated" / tri["full"]["url"])
        x, y = tri["full"]["cols"].index(k + j) * pitch, levels.index(k) * pitch
        frame = Image.open(run_dir / frame_file(manifest, "x", level=k, step=j))
        cell = full.crop((x, y, x + size, y + size))
        assert np.array_equal(np.asarray(cell.convert(frame.mode)), np.asarray(frame))
        assert cell.getextrema()[-1] == (255, 255)


def test_triangle_grid_is_a_spread_subsample_that_fits_and_aligns_with_the_levels():
    from generate.experiments.forward_backward.mosaic import columns_for, gap_for, grid_levels, spread

    levels = list(range(50))
    rows = grid_levels(levels, 32)
    assert rows == [0, 6, 12, 18, 24, 31, 37, 43, 49]
    assert rows[::2] == [0, 12, 24, 37, 49]  # the phone's view, every other row: evenly spread too
    cols = columns_for(rows, 50, every_step=False)
    assert cols == rows + [50]  # each row starts on the diagonal at its own noised image; the end column last
    assert len(cols) * (32 + gap_for(32)) <= 340
    assert columns_for(levels, 50, every_step=True) == list(range(51))
    for count in (1, 2, 9, 11, 1000):
        picked = spread(list(range(count)), 9)
        assert (
            picked[0] == 0
            and picked[-1] == count - 1
            and len(picked) == min(count, 9)
            and picked == sorted(set(picked))
        )
    assert 8 <= len(grid_levels(list(range(1000)), 16)) + 1 <= 11
    assert grid_levels([3, 10, 40], 32) == [3, 10, 40]  # a subset of start levels: all of them, as given
    assert columns_for([3, 10, 40], 50, every_step=True) == list(range(3, 51))


def test_triangle_mosaics_come_back_from_the_build_cache(build, tmp_path, monkeypatch):
    """The mosaics live in the run's sheet folder, so a rebuild from the cache ships them unchanged
    without composing them again."""
    from generate.experiments.forward_backward import mosaic

    _one_run_copy(build, tmp_path, "forward_backward")
    cache, composed = tmp_path / "cache", []
    real = mosaic.triangle
    monkeypatch.setattr(mosaic, "triangle", lambda *a, **k: composed.append(1) or real(*a, **k))
    build_site(tmp_path / "runs", tmp_path / "site", cache=cache)
    model = _figure_data(tmp_path / "site", "forward_backward")["models"][0]
    files = {
        name: (tmp_path / "site" / "generated" / model["triangle"][name]["url"]).read_bytes()
        for name in ("grid", "full")
    }
    build_site(tmp_path / "runs", tmp_path / "site2", cache=cache)
    assert len(composed) == 1
    again = _figure_data(tmp_path / "site2", "forward_backward")["models"][0]
    assert again["triangle"] == model["triangle"]
    for name, data in files.items():
        assert (tmp_path / "site2" / "generated" / again["triangle"][name]["url"]).read_bytes() == data


def test_the_authors_page_shows_both_launch_commands_and_is_in_the_nav(build):
    page = (build["site"] / "make-your-own" / "index.html").read_text()
    for command in (
        "torchrun --standalone --nproc_per_node 8 -m generate precompute",
        "accelerate launch --multi_gpu --num_processes 8 -m generate precompute",
        "--rdzv_endpoint HOST0:29500",
        "python -m generate site --runs /shared/runs",
    ):
        assert command in html.unescape(re.sub(r"<[^>]+>", "", page)), command
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "torchrun --standalone --nproc_per_node 8 -m generate precompute" in readme
    assert "accelerate launch --multi_gpu --num_processes 8 -m generate precompute" in readme
    index = (build["site"] / "index.html").read_text()
    assert 'href="make-your-own/"' in index  # in the nav of every page


def test_every_figure_carries_how_it_was_made_from_its_run(build, tmp_path):
    """The "How this was made" card's data (provenance) of every model of every figure: the model's
    identity, scheduler, config section (seeds, steps, grids), libraries, device, dtype and date as
    the manifest and run.json record them, and a command that plans the very same run (its run key)."""
    import shlex

    import torch

    from generate import experiments
    from generate.cli import build_parser
    from generate.core.loading import load_model
    from generate.precompute.config import load_config
    from generate.precompute.plan import prepare

    runs, loaded, checked = manifests(build["runs"]), {}, 0
    for experiment in experiments.names():
        for model in _figure_data(build["site"], experiment)["models"]:
            manifest, made = runs[(model["slug"], experiment)], model["provenance"]
            record = json.loads(
                next(build["runs"].glob(f"{model['slug']}/{experiment}/{manifest['run_key']}/run.json")).read_text()
            )
            identity = manifest["model"]
            assert made["model"]["slug"] == identity["slug"] and made["model"]["id"] == identity["id"]
            assert made["model"]["source"] == identity["source"]
            assert len(made["model"]["weights_sha256"]) >= 8 and identity["weights_sha256"].startswith(
                made["model"]["weights_sha256"]
            )
            assert made["scheduler"]["class"] == manifest["scheduler"]["class"]
            for key in ("prediction_type", "beta_schedule", "num_train_timesteps"):
                assert made["scheduler"][key] == manifest["scheduler"]["config"][key], key
            assert made["config"] == manifest["config"]  # seeds, steps, grids: the section as run
            assert made["config"].get("seeds", []) == manifest["config"].get("seeds", [])
            assert made["environment"] == {
                k: manifest["environment"][k] for k in ("torch", "diffusers", "device", "dtype")
            }
            assert made["finished"] == record["finished"] and made["run_key"] == manifest["run_key"]
            # the command: `python -m generate` + arguments the CLI accepts, naming this run's config,
            # model, device, dtype and experiment
            words = shlex.split(made["command"])
            assert words[:3] == ["python", "-m", "generate"]
            args = build_parser().parse_args(words[3:])
            assert (args.command, args.config, args.only) == ("precompute", record["config"], [experiment])
            assert (args.model, args.device, args.dtype) == (
                identity["path"],
                manifest["environment"]["device"],
                manifest["environment"]["dtype"],
            )
            # ... and it plans this very run: same run key (the test session's precompute ran on 1 thread,
            # which a CPU run key includes)
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                if args.model not in loaded:
                    loaded[args.model] = load_model(args.model, args.device, args.dtype)
                planned = prepare(experiments.get(experiment), load_config(args.config), loaded[args.model], tmp_path)
            finally:
                torch.set_num_threads(threads)
            assert planned.key == manifest["run_key"], (experiment, model["slug"])
            checked += 1
    assert checked == len(runs)


def test_the_config_of_a_command_comes_from_run_json_or_the_recorded_precompute_argv():
    from generate.cli import build_parser
    from generate.site.provenance import _config_of

    cli = ["python", "-m", "generate", "precompute"]
    assert _config_of({"config": "smoke", "command": cli + ["--config", "default"]}) == "smoke"
    assert _config_of({"command": cli + ["--config", "my grids.toml", "--runs", "runs"]}) == "my grids.toml"
    assert _config_of({"command": cli + ["--config=smoke"]}) == "smoke"
    assert _config_of({"command": cli + ["--runs", "runs"]}) == build_parser().parse_args(["precompute"]).config
    # the precompute called from Python: argv is the caller's, not a precompute command line
    assert _config_of({"command": ["python", "-m", "generate", "-q", "tests/test_site.py"]}) is None
    assert _config_of({}) is None


def test_every_lesson_page_has_the_maths_folded_as_mathml(build):
    from generate import experiments

    for lesson in experiments.pages():
        text = (build["site"] / Path(lesson.file).stem / "index.html").read_text()
        folds = re.findall(r'<details class="nti-maths">(.*?)</details>', text, re.S)
        assert len(folds) == 1, lesson.file
        fold = folds[0]
        assert "<summary>The maths</summary>" in fold
        assert fold.count("<math") >= 3 and fold.count('<math display="block"') >= 1, lesson.file
        # every equation says where in the figure its symbols are
        assert fold.count('class="nti-eq"') == fold.count('class="nti-eq-where"') >= 1
        words = html.unescape(re.sub(r"<[^>]+>", " ", fold))
        assert "\\" not in words and "$" not in words, f"{lesson.file}: LaTeX left as text"
        assert "<merror" not in fold and " style=" not in fold  # inline styles would break the CSP


def test_the_tex_filter_refuses_what_it_cannot_write_as_plain_mathml():
    from generate.site.maths import tex

    assert str(tex(r"\hat{x}_0", True)).startswith('<math display="block">')
    assert "&#x0003C;" in str(tex("a < b"))  # markup's own characters stay escaped
    for bad in (r"\begin{aligned} a &= b \end{aligned}", r"a \sim b", r"a\!b"):
        with pytest.raises(UsageError, match="equation"):
            tex(bad)


def test_the_figure_cache_key_covers_every_module_a_figure_uses():
    """An edit to code a figure builder calls (its own package's helpers, another experiment's figure
    code, the toolkit, the torch-free shared modules) must rebuild its figure, not serve the cached one:
    every module of the package that the site stage loads, with every experiment registered, is hashed."""
    from generate import experiments
    from generate.site import figures

    program = (
        "import sys; import generate.site.build; from generate import experiments\n"
        "for e in experiments.all_experiments(): __import__(e.figure.__module__)\n"
        "print('\\n'.join(m.__file__ for n, m in sys.modules.items() if n.startswith('generate') and m.__file__))"
    )
    repo = Path(figures.__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", program], cwd=repo, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = {Path(line).resolve() for line in result.stdout.split()}
    covered = {path.resolve() for path in figures.code_files()}
    assert len(loaded) > 20 and loaded <= covered, sorted(str(p) for p in loaded - covered)
    for experiment in experiments.all_experiments():  # every module of its package, loaded or not
        for path in Path(experiment.figure.__code__.co_filename).parent.glob("*.py"):
            assert path.resolve() in covered, path
    package = repo / "generate"
    assert not any(p.is_relative_to(package / "core") for p in loaded), "the site stage loaded the torch core"


def test_text_steps_set_only_declared_state_keys_of_their_kind():
    """A template's step({...}) is checked at build time against its figure's declared state: a key
    the figure does not have, or a value not of the key's kind, stops the build naming the template."""
    from generate.site.pages import check_steps

    states = {"reverse": {"step": "fraction", "seed": "index", "flip": "toggle"}}
    figure = '<div class="nti-figure" data-kind="reverse" data-src="x"></div>'

    def step(state: str) -> str:
        return f'<div class="nti-step" data-state="{html.escape(state)}" markdown>'

    check_steps(figure + step('{"step":0.5,"seed":1}') + step('{"view":1,"flip":true}'), "reverse.md.j2", states)
    bad = {
        '{"stepp":0.5}': "sets 'stepp'; its state keys are step, seed, flip",
        '{"flip":1}': "flip=1; flip is true or false",
        '{"step":1.5}': "step=1.5; step is a fraction from 0 to 1",
        '{"seed":0.5}': "seed=0.5; seed is a whole number from 0",
        '{"view":-1}': "view=-1; view is a whole number from 0",
    }
    for state, message in bad.items():
        with pytest.raises(UsageError, match=re.escape(message)) as error:
            check_steps(figure + step(state), "reverse.md.j2", states)
        assert str(error.value).startswith("reverse.md.j2: ")
    with pytest.raises(UsageError, match="follows no figure of a registered experiment"):
        check_steps(step('{"step":0}'), "index.md.j2", states)


def test_an_edited_helper_module_rebuilds_the_figure_data(build, tmp_path):
    """The stale-cache case of issue 26: the figure cache must not serve old data after an edit to a
    module the builder imports (here trajectories/projection.py, which figure.py calls). A copy of the
    package builds the trajectories figure into one cache: unedited, it reuses the entry; with one
    line added to the helper, it encodes again."""
    import generate

    runs = latest_runs(build["runs"])
    manifest = next(run.path for (slug, name), run in sorted(runs.items()) if name == "trajectories")
    cache = tmp_path / "cache"

    def build_with(package: Path) -> bool:
        program = (
            "import sys, json; from pathlib import Path; sys.path.insert(0, sys.argv[1])\n"
            "import generate; assert generate.__file__.startswith(sys.argv[1]), generate.__file__\n"
            "from generate.site.runs import latest_runs; from generate.site.figures import build_figure\n"
            "run = next(r for r in latest_runs(Path(sys.argv[2])).values() if r.path == Path(sys.argv[3]))\n"
            "out = Path(sys.argv[4]); out.mkdir(parents=True, exist_ok=True)\n"
            "print(json.dumps(build_figure(run, out / 'frames', '../frames', Path(sys.argv[5])).get('cached', False)))"
        )
        out = tmp_path / f"out-{package.parent.name}"
        args = [str(package.parent), str(build["runs"]), str(manifest), str(out), str(cache)]
        result = subprocess.run([sys.executable, "-c", program, *args], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        return json.loads(result.stdout.splitlines()[-1])

    source = Path(generate.__file__).resolve().parent
    for name in ("original", "unedited", "edited"):
        shutil.copytree(source, tmp_path / name / "generate", ignore=shutil.ignore_patterns("__pycache__", "models"))
    helper = tmp_path / "edited" / "generate" / "experiments" / "trajectories" / "projection.py"
    helper.write_text(helper.read_text() + "\n# an edit\n")
    assert build_with(tmp_path / "original" / "generate") is False  # first build: encoded
    assert build_with(tmp_path / "unedited" / "generate") is True  # same code elsewhere: reused
    assert build_with(tmp_path / "edited" / "generate") is False  # the helper changed: rebuilt
