"""Screenshots of every page of a built site, as a reader sees it: desktop 1280x900 and phone 390x844,
light and dark, scrolled so the first figure is pinned. For looking at what was built (and for the
before/after pictures of a change); not a test.

    .venv/bin/python benchmarks/screenshots.py --site site --out /tmp/shots [--themes light,dark]
        [--pages reverse] [--open-downloads]   (the first figure's Download list open)
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

def pages() -> dict[str, str]:
    """The overview and every lesson page of the registry (name -> path)."""
    from generate import experiments

    return {"index": "", **{Path(page.file).stem: Path(page.file).stem + "/" for page in experiments.pages()}}

SIZES = {"1280": (1280, 900), "390": (390, 844)}


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=Path("site"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--themes", default="light,dark")
    parser.add_argument("--format", choices=("png", "jpeg"), default="png")
    parser.add_argument("--pages", nargs="*", help="page names (default: the overview and every lesson)")
    parser.add_argument("--open-downloads", action="store_true", help="open the first figure's Download list first")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chosen = {name: path for name, path in pages().items() if not args.pages or name in args.pages}
    server, base = serve(args.site)
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for theme in args.themes.split(","):
            for width_name, (width, height) in SIZES.items():
                context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=theme,
                                              device_scale_factor=1, is_mobile=width < 600, has_touch=width < 600)
                page = context.new_page()
                for name, path in chosen.items():
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    figure = page.query_selector(".nti-scrolly")
                    if figure is not None:  # the first figure pinned, its first text step in view
                        page.evaluate("(el) => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 60)", figure)
                        page.wait_for_function("() => Array.from(document.querySelectorAll('.nti-figure')).every("
                                               "f => f.dataset.ready === 'true' || f.dataset.defer === 'true')", timeout=15000)
                        page.wait_for_timeout(400)
                        if args.open_downloads and page.query_selector(".nti-dl-button"):
                            page.click(".nti-dl-button")
                            page.wait_for_timeout(200)
                    suffix = "-downloads" if args.open_downloads else ""
                    page.screenshot(path=str(args.out / f"{name}{suffix}-{width_name}-{theme}.{args.format}"), type=args.format)
                context.close()
        browser.close()
    server.shutdown()
    print(f"screenshots in {args.out}")


if __name__ == "__main__":
    main()
