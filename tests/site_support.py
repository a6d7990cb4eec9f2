"""Test support (imported by the test files and conftest, never a test file itself): tiny models
built in code, the session's small site and the default runs and site, a static server and the
browser.

Two tiny random UNets (colour and greyscale, 16 px) run the smoke grid once per test session and a
site is built from them through the CLI; the default config's runs and site are made once too, for
the checks that need the real shipped models.

`make test` runs the tests in several processes (pytest-xdist). What they share is made once per
session for all of them (`_once`: the first process to need it makes it under a file lock in the
session's shared folder, the others wait and read it), and every built site is served by one web
server, which the controlling process runs for the whole session (conftest.py): a site's address
is `<server>/<its name>/`, and instant navigation needs the site built for that address. The
default runs are the exception: every process that needs them runs the precompute on one runs
folder, and the processes share its units through their claims, as launched processes do.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import http.server
import json
import os
import threading
from pathlib import Path

import numpy as np
import torch
from diffusers import DDPMScheduler, UNet2DModel

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")  # Debian's Chromium; never a downloaded browser
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # No host but this machine's: a page's request elsewhere fails here (test_browser.Watch lists it)
    # rather than leaving the machine, whatever a test routes.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
# (name, channels, classes): the grey one is class-conditional (3 classes), so the tiny site has a
# guidance run (no classifier: the page's words without one) and every other lesson runs on a
# conditional model's "no class" path
MODELS = (("tiny-rgb", 3, 0), ("tiny-grey", 1, 3))

# The screens every lesson is laid out on (test_browser_matrix.py) and photographed on
# (benchmarks/screenshots.py --matrix): issue 24's matrix.
# (name, CSS viewport, device scale factor, mobile): zoom is a window of 1280 device px at a CSS
# pixel of 2 or 4 device pixels, as Chromium's zoom lays it out.
SCREENS = [
    ("1024x768", (1024, 768), 1, False),
    ("1280x720", (1280, 720), 1, False),
    ("1366x768", (1366, 768), 1, False),
    ("1440x900", (1440, 900), 1, False),
    ("1920x1080", (1920, 1080), 1, False),
    ("2560x1440", (2560, 1440), 1, False),
    ("768x1024", (768, 1024), 2, True),
    ("1024x1366", (1024, 1366), 2, True),
    ("360x640", (360, 640), 3, True),
    ("390x844", (390, 844), 3, True),
    ("414x896", (414, 896), 3, True),
    ("844x390", (844, 390), 3, True),
    ("1280x800@200%", (640, 400), 2, False),
    ("1280x800@400%", (320, 200), 4, False),
]


def make_tiny_model(
    folder: Path,
    channels: int = 3,
    prediction_type: str = "epsilon",
    size: int = 16,
    layout: str = "flat",
    beta_schedule: str = "linear",
    seed: int = 0,
    attention: bool = True,
    classes: int = 0,
) -> Path:
    """Save a 16-px two-level UNet2DModel + DDPMScheduler in the flat or the pipeline layout.
    attention=False: no attention block, the middle block's included (at 256 px the middle block
    attends over 128x128 positions: 3.6 s per call on one CPU thread, 92 % of a 256-px run's time).
    classes > 0: class-conditional, classes + 1 class embeddings (the last: "no class")."""
    torch.manual_seed(seed)
    down = ("DownBlock2D", "AttnDownBlock2D" if attention else "DownBlock2D")
    up = ("AttnUpBlock2D" if attention else "UpBlock2D", "UpBlock2D")
    unet = UNet2DModel(
        sample_size=size,
        in_channels=channels,
        out_channels=channels,
        block_out_channels=(8, 16),
        layers_per_block=1,
        down_block_types=down,
        up_block_types=up,
        norm_num_groups=4,
        attention_head_dim=8,
        add_attention=attention,
        num_class_embeds=classes + 1 if classes else None,
    )
    scheduler = DDPMScheduler(num_train_timesteps=1000, prediction_type=prediction_type, beta_schedule=beta_schedule)
    if layout == "flat":
        unet.save_pretrained(folder)
        scheduler.save_pretrained(folder)
    else:
        unet.save_pretrained(folder / "unet")
        scheduler.save_pretrained(folder / "scheduler")
    return folder


@contextlib.contextmanager
def serve(site: Path, port: int = 0):
    """A quiet static server of `site` on 127.0.0.1; yields its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        # Several browsers load pages at once (one per test process), a connection per file: the
        # default backlog of 5 overflows and a dropped connection is retried only a second later.
        request_queue_size = 128

        def handle_error(self, request, client_address):
            pass  # a browser that closes a connection mid-file (a page left early) is not an error here

    server = Server(("127.0.0.1", port), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


# Set by conftest.py before any test runs: the session's shared folder ("root") and the address of
# the web server that serves its "www" folder ("url", ending in "/").
SHARED: dict = {}


def served(build: dict) -> str:
    """The base URL of a built site (build_for_serving): the session's server at the site's folder."""
    return build["url"]


_MADE: dict[str, dict] = {}  # name -> what _once made or read, in this process


def _once(name: str, make) -> dict:
    """make(folder) -> dict of paths and strings, computed once per test session for all processes:
    the first to ask makes it in SHARED["root"]/name under a lock, the others wait for it and read
    its record. In one process it is kept in memory too."""
    if name in _MADE:
        return dict(_MADE[name])
    root = Path(SHARED["root"])
    record = root / f"{name}.json"
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        if not record.exists():
            made = make(root / name)
            record.write_text(json.dumps({k: str(v) for k, v in made.items()}))
    values = json.loads(record.read_text())
    _MADE[name] = {k: (v if k == "url" else Path(v)) for k, v in values.items()}
    return dict(_MADE[name])


@contextlib.contextmanager
def chromium():
    """Debian's Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class _Lent:
    """A pooled page lent to one test (tab()): everything but on/once/route/set_viewport_size goes to
    the page; those are recorded, so that giving it back undoes them. Attributes a test sets (page.errors)
    live on the loan, not on the page the next test gets."""

    def __init__(self, page, viewport):
        vars(self).update(_page=page, _listeners=[], _viewport=viewport)

    def __getattr__(self, name):
        return getattr(self._page, name)

    def on(self, event, handler):
        self._listeners.append((event, handler))
        self._page.on(event, handler)

    def once(self, event, handler):
        self._listeners.append((event, handler))
        self._page.once(event, handler)

    def _give_back(self) -> bool:
        """Undo the test's listeners and routes, forget the site's storage and leave for about:blank
        (which stops the page's scripts and workers); False if the page cannot be reused."""
        page = self._page
        if page.is_closed():
            return False
        try:
            for event, handler in self._listeners:
                with contextlib.suppress(Exception):  # a `once` that already ran
                    page.remove_listener(event, handler)
            page.unroute_all(behavior="ignoreErrors")
            if page.url.startswith("http"):
                page.evaluate("() => { try { localStorage.clear(); sessionStorage.clear(); } catch (e) {} }")
            page.goto("about:blank")
            page.context.clear_cookies()
            page.mouse.move(0, 0)  # where a new page's pointer starts: no element stays hovered
            if self._viewport and page.viewport_size != self._viewport:
                page.set_viewport_size(self._viewport)
            return True
        except Exception:
            return False


def failed(request) -> bool:
    """Whether the test that `request` belongs to has failed so far (conftest keeps its reports)."""
    return any(
        getattr(getattr(request.node, f"nti_report_{when}", None), "failed", False) for when in ("setup", "call")
    )


_TABS: dict[tuple, tuple] = {}  # (browser, options) -> the pooled page and its DevTools session, in this process


@contextlib.contextmanager
def tab(browser, permissions: tuple[str, ...] = (), **options):
    """A page of a context made with `options` (browser.new_context's), reused from test to test in this
    process. A new context and page cost Chromium about 1.7 CPU-s on the 2-core machine, a page load in
    a page already open about 0.7: with some 200 pages the browser tests opened, that was a fifth of
    `make test`. What a fresh page gives a test, a lent one gives too: an empty HTTP cache (cleared:
    the first load fetches every file, and every request is seen), no storage, cookies, listeners or routes of
    an earlier test, the pointer at (0, 0), the viewport asked for. Not the same: the session history
    (a test that counts history entries opens its own context) and an init script (likewise)."""
    key = (id(browser), tuple(permissions), json.dumps(options, sort_keys=True))
    page, devtools = _TABS.pop(key, (None, None))
    if page is None or page.is_closed():
        context = browser.new_context(**options)
        if permissions:
            context.grant_permissions(list(permissions))
        page = context.new_page()
        devtools = context.new_cdp_session(page)  # its network domain stays off (no events sent here)
    # An empty HTTP cache, as a new context starts with: every file of the test's first load is fetched
    # (and seen), later loads in the same test may use the cache, as in a new context. (Disabling the
    # cache instead needed the network domain on, which sent every request's events to this process:
    # about 0.05 CPU-s a page load, and no cache within a test.)
    devtools.send("Network.clearBrowserCache")
    loan = _Lent(page, options.get("viewport"))
    try:
        yield loan
    finally:
        if loan._give_back():
            _TABS[key] = (page, devtools)
        else:
            with contextlib.suppress(Exception):
                page.context.close()


@contextlib.contextmanager
def tiny_threads():
    """One torch thread while tiny models run: they gain nothing from more, and the test processes
    share the machine's cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def built_site() -> dict:
    """{'runs', 'site', 'url'}: two tiny models on the smoke grids and their site, once per session."""

    def make(base: Path) -> dict:
        from generate.precompute import precompute
        from generate.precompute.config import load_config

        runs = base / "runs"
        with tiny_threads():
            for name, channels, classes in MODELS:
                make_tiny_model(base / name, channels=channels, seed=channels, classes=classes)
                precompute(load_config("smoke"), runs, models=[str(base / name)], progress=False, log=lambda *_: None)
        return build_for_serving(runs, "tiny")

    return _once("tiny", make)


def large_site() -> dict:
    """A 256-px colour model (random, narrow, no attention) on the smoke grids, and its site: the
    seed's image size. Built once per session. Without the live experiment: exporting and checking
    a 256-px graph took 68 of its 213 s of precompute, and no 256-px test looks at live mode (the
    32-px site and tests/test_browser_live*.py do); its figures then say live mode has no graph."""

    def make(base: Path) -> dict:
        from generate.precompute import precompute
        from generate.precompute.config import load_config

        # class-conditional (2 classes), so the 256-px site has a guidance page too (its previews)
        model = make_tiny_model(base / "tiny-256", channels=3, size=256, attention=False, classes=2)
        config = load_config("smoke")
        config.experiments = [name for name in config.experiments if name != "live"]
        precompute(config, base / "runs", models=[str(model)], progress=False, log=lambda *_: None)
        return build_for_serving(base / "runs", "large")

    return _once("large", make)


def build_for_serving(runs: Path, name: str) -> dict:
    """Build the site of `runs` into the session's web folder at /<name>/, for the address the
    session's server gives it (instant navigation needs site_url to match where it is served):
    {'runs', 'site', 'url'}. `name` must be new to the session."""
    from generate.cli import main

    site = Path(SHARED["root"]) / "www" / name
    assert not site.exists(), f"a site named {name!r} was built already this session"
    url = f"{SHARED['url']}{name}/"
    assert main(["site", "--runs", str(runs), "--out", str(site), "--site-url", url]) == 0
    return {"runs": runs, "site": site, "url": url}


def manifests(runs: Path) -> dict[tuple[str, str], dict]:
    """(model slug, experiment) -> manifest (the tests make one run of each)."""
    found = {}
    for path in sorted(runs.glob("*/*/*/manifest.json")):
        manifest = json.loads(path.read_text())
        found[(manifest["model"]["slug"], manifest["experiment"])] = manifest
    return found


def frame_file(manifest: dict, panel: str, **coords) -> str:
    """The manifest's frame of the experiment's declared `panel` at these coords (numbers compared as
    numbers): the coords come from the declaration (generate/experiments), not spelled out here."""
    from generate import experiments

    coords = experiments.get(manifest["experiment"]).panel(panel).coords_of(**coords)
    for frame in manifest["frames"]:
        if frame["coords"].keys() == coords.keys() and all(
            frame["coords"][k] == v or (isinstance(v, (int, float)) and frame["coords"][k] == float(v))
            for k, v in coords.items()
        ):
            return frame["file"]
    raise AssertionError(f"manifest has no frame at {coords}")


def default_runs() -> Path:
    """The default config's precompute on the shipped models, as `make site` makes it (once per session,
    a few minutes on a 2-core CPU): the runs the lessons' claims are checked against. Every test
    process that needs them runs the precompute on the session's one folder: they share its units
    (claims.py), and the first to finish waits for the units the others still hold.

    NTI_DEFAULT_RUNS=DIR reuses a runs folder that `make precompute` made (the newest run of each
    experiment is read, as the site build reads it), to iterate on the claims without the wait."""
    if os.environ.get("NTI_DEFAULT_RUNS"):
        return Path(os.environ["NTI_DEFAULT_RUNS"])
    if "default-runs" not in _MADE:
        from generate.precompute import precompute
        from generate.precompute.config import load_config

        runs = Path(SHARED["root"]) / "default-runs"
        precompute(load_config("default"), runs, progress=False, log=lambda *_: None)
        _MADE["default-runs"] = {"runs": runs}
    return _MADE["default-runs"]["runs"]


def default_site() -> dict:
    """The site built from the default runs (both shipped 32-px models, every default grid): the
    pages a reader gets from `make site`, for the layout checks that depend on real sizes and labels.
    The runs first, outside the site's lock: every test process that asks joins their precompute (the
    shared units), rather than waiting idle on the lock while one process computes them all."""
    runs = default_runs()
    return _once("default", lambda base: build_for_serving(runs, "default"))


# Each shown SVG text under an element, as [drawn size in CSS px, its first characters]: its font size
# times its chart's scale (drawn CSS px per viewBox unit; the smaller ratio where the chart is
# letterboxed). The matrix measures a figure's charts with it, the predict test an answer's.
SVG_TEXT_PX = """(root => Array.from(root.querySelectorAll('svg text'))
    .filter(t => t.getClientRects().length > 0 && getComputedStyle(t).visibility !== 'hidden').map(t => {
        const svg = t.ownerSVGElement, vb = svg.viewBox.baseVal, r = svg.getBoundingClientRect();
        const k = vb && vb.width ? Math.min(r.width / vb.width, r.height / vb.height) : 1;
        return [parseFloat(getComputedStyle(t).fontSize) * k, t.textContent.slice(0, 24)]; }))"""


def wait_until(locator, predicate: str, timeout: float = 15000) -> None:
    """Wait (at most `timeout` ms) until the JavaScript `predicate(element)` holds for the locator's
    element, e.g. "f => f.dataset.ready === 'true'". Bounded: a figure that never gets there fails."""
    locator.page.wait_for_function(f"el => ({predicate})(el)", arg=locator.element_handle(), timeout=timeout)


# A small grid of every experiment (test_precompute, test_crash): {model}, {max_batch}, {reverse_scheduler}.
# An experiment not named here runs its declared tiny grid (grid = "smoke"); these sections are the
# grids whose frame counts and seeds the tests check.
SMALL = """
models = ["{model}"]
grid = "smoke"
[run]
max_batch = {max_batch}
[reverse]
scheduler = "{reverse_scheduler}"
steps = 4
seeds = [0, 1, 2]
[spectra]
steps = 3
seeds = [1, 2]
[schedules]
levels = [0, 500, 999]
source_seeds = [0, 1]
source_steps = 3
[step_counts]
steps = [2, 5]
seeds = [3, 4]
leading = [2]
[samplers]
calls = [2, 4]
reference = 6
seeds = [0, 1]
[trajectories]
steps = 3
seeds = [0, 2]
[forward_backward]
steps = 5
[patch_noise]
steps = 3
seeds = [0, 5]
sizes = [4, 8]
positions = [[0, 0], [8, 8]]
[mix_noise]
steps = 3
seeds = [0, 5]
scales = [0.0, 0.5, 1.0]
"""


def page_of(experiment: str) -> str:
    """The URL path (relative to the site root) of the lesson page that shows an experiment's figure,
    from the registry: tests never keep their own list of pages."""
    from generate import experiments

    return experiments.get(experiment).page.file.removesuffix(".md") + "/"


def lesson_paths() -> list[str]:
    """Every lesson page's URL path, in reading order (the registry's)."""
    from generate import experiments

    return [page.file.removesuffix(".md") + "/" for page in experiments.pages()]


def viridis_index(rgb: np.ndarray) -> np.ndarray:
    """A heatmap frame's colours back to their viridis index (0..255): the 8-bit level of |a - b| it
    shows. One index step moves a colour by up to 3 RGB levels, so heatmaps compare by index."""
    from generate.core.measure import VIRIDIS

    table = VIRIDIS.astype(np.int32)
    flat = np.asarray(rgb, dtype=np.int32).reshape(-1, 1, 3)
    return np.abs(flat - table[None]).sum(2).argmin(1).reshape(np.shape(rgb)[:-1])


def tree_bytes(runs: Path) -> dict[str, bytes]:
    """Every file of a runs folder but the timings (run.json): what must be byte-identical."""
    return {
        str(p.relative_to(runs)): p.read_bytes()
        for p in sorted(runs.rglob("*"))
        if p.is_file() and p.name != "run.json"
    }
