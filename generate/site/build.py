"""`python -m generate site`: runs/ -> a staging copy of site_src/ (sheets, figure data, pages) ->
mkdocs build -> site/.

Data flows one way: manifests are read, never written, and the sources (site_src/, templates/) are
only read too. Everything a build makes lives beside its output folder OUT:
    .OUT.docs/         site_src/ copied, plus the generated pages, figure data and sheets (mkdocs' docs_dir)
    .OUT.mkdocs.yml    the derived mkdocs config (preview with `mkdocs serve -f .OUT.mkdocs.yml`)
    .OUT.cache/        sheets and figure data cached by manifest hash (unless --cache names another)
Each step is one function.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import yaml

from .. import experiments
from ..errors import UsageError
from ..paths import MKDOCS_YML, SITE_SRC, TEMPLATES
from ..shipped import DEFAULT_MODEL, SHIPPED_DIR
from ..toolkit.contract import Page
from ..toolkit.runs import Run
from . import cache as sheet_cache
from . import cards as model_cards
from . import claims, csp, live, tidy
from .figures import build_figure
from .pages import GUIDES, render_pages
from .provenance import provenance
from .runs import latest_runs

CARDS = SHIPPED_DIR  # shipped models; each one's README.md is its card


def build_paths(out: Path) -> dict[str, Path]:
    """Where a build into `out` stages its sources, derived config and cache: beside `out`, never in the
    repo's sources."""
    return {
        "docs": out.parent / f".{out.name}.docs",
        "config": out.parent / f".{out.name}.mkdocs.yml",
        "cache": out.parent / f".{out.name}.cache",
    }


def stage_sources(site_src: Path, docs: Path) -> Path:
    """A fresh copy of the hand-written sources (assets, overrides) to generate into: the previous
    build's pages, sheets and data go, so a run that disappeared leaves nothing behind."""
    shutil.rmtree(docs, ignore_errors=True)
    shutil.copytree(
        site_src,
        docs,
        ignore=shutil.ignore_patterns(
            ".cache", "generated", "frames", "models", "*.md", "eslint.config.*", "package*.json"
        ),
    )
    for name in ("frames", "generated"):
        (docs / name).mkdir(parents=True)
    return docs


def write_figure_data(
    chosen: dict[tuple[str, str], Run],
    docs: Path,
    cache: Path,
    log: Callable[[str], None] = lambda line: None,
    no_runtime: str | None = None,
) -> dict[str, list[dict]]:
    """One JSON file per experiment listing every model's figure data; sheets under docs/frames/.
    Each model also says whether live mode can run it (`no_runtime`: why no model can)."""
    figures: dict[str, list[dict]] = {name: [] for name in experiments.names()}
    # The project's default model first (the reader's first view), then the rest by name.
    for (slug, experiment), run in sorted(chosen.items(), key=lambda item: (item[0][0] != DEFAULT_MODEL, item[0])):
        if experiment in figures:
            # sheet URLs are relative to the JSON file in generated/
            begun = time.time()
            figure = build_figure(run, docs / "frames", "../frames", cache)
            how = "reused from the cache" if figure.pop("cached", False) else "encoded"
            # how it was made (the card of the figure shell): read from the run each build, never cached
            # with the sheets, since run.json (when, from which config) is not part of the cache key
            figure["provenance"] = provenance(run)
            figures[experiment].append(figure)
            log(f"  {slug}/{experiment}: {len(figure['sheets'])} sheets {how} ({time.time() - begun:.1f} s)")
    live.attach(figures, no_runtime)
    for experiment, models in figures.items():
        # the figure's state keys and their kinds (the experiment's `state`): what share.js takes from a link
        state = experiments.get(experiment).state_kinds()
        text = json.dumps(
            {"experiment": experiment, "state": state, "models": models}, separators=(",", ":"), allow_nan=False
        )
        (docs / "generated" / f"{experiment}.json").write_text(text, encoding="utf-8")
    return figures


def page_context(
    figures: dict[str, list[dict]],
    cards: list[dict] | None = None,
    facts: dict[str, dict] | None = None,
    pages: list[Page] | None = None,
) -> dict:
    """What every template sees: figure data, each model's facts (by which the lessons word what
    the figures show), the model cards and the lessons in reading order. A page adds its own values
    through its declared `context`."""
    pages = experiments.pages() if pages is None else pages
    labels = sorted({m["label"] for models in figures.values() for m in models})
    lessons = [{"title": p.title, "file": p.file, "blurb": p.blurb} for p in pages]
    return {
        "figures": figures,
        "has": {k: bool(v) for k, v in figures.items()},
        "labels": labels,
        "cards": cards or [],
        "facts": facts or {},
        "lessons": lessons,
    }


def stage_scripts(shown: list, site_src: Path, docs: Path) -> dict[str, str]:
    """Each figure kind's script (an ES module exporting the kind by name), as a path inside the docs
    folder, copied there when an experiment brings its script from outside site_src/. The page's
    figure names it (data-script) and the figure shell imports it when the figure first mounts."""
    scripts = {}
    for experiment in shown:
        script = experiment.page.script.resolve()
        if script.is_relative_to(site_src.resolve()):
            relative = script.relative_to(site_src.resolve()).as_posix()
        else:
            relative = f"assets/js/experiments/{script.name}"
            (docs / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(script, docs / relative)
        scripts[experiment.name] = relative
    return scripts


_STATIC_IMPORT = re.compile(r'^import\s[^;]*?\bfrom\s+"(\./[^"]+)";|^import\s+"(\./[^"]+)";', re.M)


def static_imports(entry: Path) -> list[str]:
    """The modules `entry` imports statically, and theirs, as paths relative to entry's folder (sorted).
    The page preloads them (rel=modulepreload), so the browser fetches the whole graph at once instead
    of one level of imports after another. import() is left out: those load when needed."""
    seen: set[str] = set()
    todo = [entry.name]
    while todo:
        text = (entry.parent / todo.pop()).read_text(encoding="utf-8")
        for match in _STATIC_IMPORT.finditer(text):
            name = (match.group(1) or match.group(2)).removeprefix("./")
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return sorted(seen)


def mkdocs_config(
    mkdocs_yml: Path,
    docs: Path,
    derived: Path,
    site_url: str | None = None,
    cards: list[dict] | None = None,
    pages: list[Page] | None = None,
) -> Path:
    """The repo's mkdocs.yml pointed at the staged docs, with site_url, and the lessons and the model
    cards in the nav.

    site_url matters for instant navigation: the theme only intercepts links found in sitemap.xml,
    whose URLs it matches by host and path, so it must be the address the site is served from.
    """
    config = yaml.safe_load(mkdocs_yml.read_text(encoding="utf-8"))
    lessons = [{page.title: page.file} for page in (pages or [])]
    guides = [{title: file} for file, _, title in GUIDES]
    config["nav"] = model_cards.nav_with_cards(list(config.get("nav", [])) + lessons, cards or [], guides)
    # the entry module's static imports, preloaded by overrides/main.html
    scripts = config.get("extra_javascript", [])
    modules = [s["path"] for s in scripts if isinstance(s, dict) and s.get("type") == "module"]
    config.setdefault("extra", {})["modulepreload"] = [
        f"{Path(entry).parent.as_posix()}/{name}" for entry in modules for name in static_imports(docs / entry)
    ]
    config["docs_dir"] = str(docs.resolve())
    config["theme"]["custom_dir"] = str((docs / "overrides").resolve())
    if site_url:
        config["site_url"] = site_url
    derived.write_text(yaml.safe_dump(config), encoding="utf-8")
    return derived


def run_mkdocs(config_file: Path, out: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "mkdocs",
        "build",
        "--strict",
        "--clean",
        "-q",
        "-f",
        str(config_file),
        "-d",
        str(out.resolve()),
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=config_file.parent)
    if done.returncode != 0:
        raise UsageError(f"mkdocs build --strict failed ({config_file}):\n{done.stdout}{done.stderr}".rstrip())


def build_site(
    runs: Path,
    out: Path,
    site_src: Path = SITE_SRC,
    mkdocs_yml: Path = MKDOCS_YML,
    templates: Path = TEMPLATES,
    site_url: str | None = None,
    cards_dir: Path = CARDS,
    cache: Path | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> dict:
    """`log` receives one line per stage (runs read, sheets encoded or reused, pages, mkdocs)."""
    started = time.time()
    paths = build_paths(out)
    cache = cache or paths["cache"]
    chosen = latest_runs(runs)  # validates manifests and frame files first
    models = sorted({slug for slug, _ in chosen})
    log(f"read {len(chosen)} runs of {len(models)} model(s) ({', '.join(models)}) from {runs}; frames verified")
    out.parent.mkdir(parents=True, exist_ok=True)
    docs = stage_sources(site_src, paths["docs"])
    lessons = experiments.pages()
    scripts = stage_scripts([e for e in experiments.all_experiments() if e.page], site_src, docs)
    no_runtime = live.stage_runtime(docs)
    log(
        f"live mode left out: {no_runtime}"
        if no_runtime
        else f"live mode: onnxruntime-web {live.VERSION} under {live.VENDOR}"
    )
    figures = write_figure_data(chosen, docs, cache, log, no_runtime)
    # A lesson none of whose experiments ran (guidance on a build of unconditional models only) is
    # left out, nav and overview included: a page of empty figures would teach nothing.
    shown = [p for p in lessons if any(figures.get(e.name) for e in experiments.all_experiments() if e.page == p)]
    if len(shown) < len(lessons):
        log(f"lessons without runs, left out: {', '.join(p.title for p in lessons if p not in shown)}")
    lessons = shown
    cached = sheet_cache.prune(cache, started)
    cards = model_cards.copy_cards(cards_dir, docs, models)
    facts = claims.for_models(chosen)
    states = {e.name: e.state_kinds() for e in experiments.all_experiments()}
    pages = render_pages(templates, docs, page_context(figures, cards, facts, lessons), lessons, states, scripts)
    log(
        f"pages written: {', '.join(p.name for p in pages)} and {len(cards)} model card(s), worded from the runs' facts"
    )
    log("mkdocs build --strict ...")
    run_mkdocs(mkdocs_config(mkdocs_yml, docs, paths["config"], site_url, cards, lessons), out)
    tidy.drop_empty_tabindex(out)
    hashes = csp.apply_csp(out)
    return {
        "runs": len(chosen),
        "pages": [p.name for p in pages],
        "cards": [c["name"] for c in cards],
        "out": str(out),
        "csp_hashes": len(hashes),
        "cache": cached,
    }
