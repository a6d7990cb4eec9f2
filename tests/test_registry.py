"""The experiment registry: one registration adds an experiment to every stage.

The toy experiment of tests/toy_experiment (the worked example of ARCHITECTURE.md) is registered
from here, with no edit anywhere else, and must come out validated by the config, listed by the
CLI, precomputed into a manifest whose frames follow its declared panels, built into its own page
with its figure script, listed in the nav, and working in the browser.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from site_support import REPO, build_for_serving, manifests, wait_until
from toy_experiment import GUESS, ONE_GUESS

from generate import experiments
from generate.cli import build_parser, main
from generate.errors import UsageError
from generate.precompute.config import load_config

CONFIG = """version = 1
experiments = ["one_guess"]
[one_guess]
timesteps = [999, 500, 50]
seeds = [3, 4]
"""


@pytest.fixture
def toy():
    with experiments.registered(ONE_GUESS):
        yield ONE_GUESS
    assert "one_guess" not in experiments.names()  # the registry is as before


def test_the_config_validates_the_new_section(toy, tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    config = load_config(str(path))
    assert config.one_guess.timesteps == [999, 500, 50] and config.experiments == ["one_guess"]
    path.write_text(CONFIG.replace("[999, 500, 50]", "[999, 1500]"))
    with pytest.raises(
        UsageError, match=r"one_guess.timesteps = \[999, 1500\]: 1500 is out of range; allowed: 0 to 999"
    ):
        load_config(str(path))
    path.write_text(CONFIG.replace("seeds", "seedz"))
    with pytest.raises(UsageError, match="one_guess.seedz: unknown key; allowed: models, scheduler, seeds, timesteps"):
        load_config(str(path))


def test_the_cli_offers_it(toy, capsys):
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["precompute", "--help"])
    text = capsys.readouterr().out
    assert "one_guess" in text and ONE_GUESS.summary in text
    assert parser.parse_args(["precompute", "--only", "one_guess"]).only == ["one_guess"]


def test_without_registration_it_is_unknown(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    with pytest.raises(UsageError, match="one_guess"):
        load_config(str(path))


def test_precomputed_built_and_working_in_the_browser(toy, tmp_path, tiny_rgb, browser):
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    runs = tmp_path / "runs"
    assert main(["precompute", "--config", str(config), "--model", str(tiny_rgb), "--runs", str(runs), "--quiet"]) == 0
    (manifest,) = manifests(runs).values()
    assert manifest["experiment"] == "one_guess"
    cells = {(seed, t) for seed in (3, 4) for t in (999, 500, 50)}
    assert {(f["coords"]["seed"], f["coords"]["t"]) for f in manifest["frames"]} == cells
    assert all(
        f["file"] == f"frames/{GUESS.file_of(**{k: f['coords'][k] for k in GUESS.coords})}.png"
        and f["coords"]["panel"] == "guess"
        for f in manifest["frames"]
    )

    built = build_for_serving(runs, "toy")
    site = built["site"]
    page = site / "one-guess" / "index.html"
    assert page.is_file()
    html = page.read_text()
    assert 'data-kind="one_guess"' in html and "assets/js/experiments/fig-one-guess.js" in html
    # the nav of every page lists the lesson; the overview's list of lessons does too
    index = (site / "index.html").read_text()
    assert 'href="one-guess/"' in index and "what the model makes of pure noise" in index
    figure = json.loads((site / "generated" / "one_guess.json").read_text())
    assert [m["timesteps"] for m in figure["models"]] == [[999, 500, 50]]

    base = built["url"]  # the session's server
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.goto(base + "one-guess/")
    fig = tab.locator(".nti-figure[data-kind=one_guess]")
    fig.scroll_into_view_if_needed()
    wait_until(fig, "f => f.dataset.ready === 'true'")
    want = {f["coords"]["seed"] * 1000 + f["coords"]["t"]: f["file"] for f in manifest["frames"]}
    shown = lambda: fig.locator(".nti-panel").first.get_attribute("data-frame")
    assert shown() == want[3 * 1000 + 999]
    thumb = fig.locator("[role=slider]")
    thumb.focus()
    tab.keyboard.press("End")
    assert thumb.get_attribute("aria-valuenow") == "2" and shown() == want[3 * 1000 + 50]
    tab.keyboard.press("ArrowLeft")
    assert shown() == want[3 * 1000 + 500]
    assert not errors, errors
    tab.context.close()


@pytest.mark.parametrize(
    "module",
    [
        "generate.site.figures",
        "generate.site.claims",
        "generate.site.downloads",
        "generate.site.pages",
        "generate.toolkit.contract",
        "generate.toolkit.frames",
        "generate.experiments",
        *sorted({e.figure.__module__ for e in experiments.all_experiments()}),
    ],
)
def test_every_module_imports_first_in_a_fresh_interpreter(module):
    """No import circle: each module can be the first one a program imports (the registry loads its
    experiments on first use, not while the contract is being imported)."""
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
