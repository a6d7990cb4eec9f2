"""Shared by the site benchmarks: serve a built site on localhost and open it in Debian's Chromium."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# a figure far below the fold waits (data-defer) until scrolled near
READY = "() => Array.from(document.querySelectorAll('.nti-figure')).every(f => f.dataset.ready === 'true' || f.dataset.defer === 'true')"


def _pages() -> list[str]:
    """The overview, every lesson page of the registry and the guides (as the build writes them)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from generate import experiments
    from generate.site.pages import GUIDES

    return ["", *[Path(p.file).stem + "/" for p in experiments.pages()], *[Path(f).stem + "/" for f, _, _ in GUIDES]]


PAGES = _pages()


def site_pages(site: Path) -> list[str]:
    """The explainer's pages plus any model-card pages the build wrote."""
    cards = sorted(p.parent.relative_to(site).as_posix() + "/" for p in site.glob("models/*/index.html"))
    return PAGES + cards


@contextlib.contextmanager
def serve(site: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


@contextlib.contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
