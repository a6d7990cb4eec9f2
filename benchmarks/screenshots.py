"""Screenshots of every page of a built site, as a reader sees it: desktop 1280x900 and phone 390x844,
light and dark, scrolled so the first figure is pinned. For looking at what was built (and for the
before/after pictures of a change); not a test.

    .venv/bin/python benchmarks/screenshots.py --site site --out /tmp/shots [--themes light,dark]
        [--pages reverse] [--open-downloads]   (the first figure's Download list open)
    .venv/bin/python benchmarks/screenshots.py --site site --out DIR --matrix
        every lesson on every screen of the layout matrix (tests/site_support.py SCREENS), light
        and dark, as one contact sheet per screen (DIR/contact-<screen>.webp; the single
        screenshots are not kept)
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from site_browser import ARGS, CHROMIUM  # noqa: E402  (the benchmarks' one Chromium launch)


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
    parser.add_argument("--matrix", action="store_true", help="every screen of the layout matrix, as contact sheets")
    args = parser.parse_args()
    if args.matrix:
        return matrix(args)
    from playwright.sync_api import sync_playwright

    chosen = {name: path for name, path in pages().items() if not args.pages or name in args.pages}
    server, base = serve(args.site)
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for theme in args.themes.split(","):
            for width_name, (width, height) in SIZES.items():
                context = browser.new_context(
                    viewport={"width": width, "height": height},
                    color_scheme=theme,
                    device_scale_factor=1,
                    is_mobile=width < 600,
                    has_touch=width < 600,
                )
                page = context.new_page()
                for name, path in chosen.items():
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    figure = page.query_selector(".nti-scrolly")
                    if figure is not None:  # the first figure pinned, its first text step in view
                        page.evaluate(
                            "(el) => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 60)", figure
                        )
                        page.wait_for_function(
                            "() => Array.from(document.querySelectorAll('.nti-figure')).every("
                            "f => f.dataset.ready === 'true' || f.dataset.defer === 'true')",
                            timeout=15000,
                        )
                        page.wait_for_timeout(400)
                        if args.open_downloads and page.query_selector(".nti-dl-button"):
                            page.click(".nti-dl-button")
                            page.wait_for_timeout(200)
                    suffix = "-downloads" if args.open_downloads else ""
                    page.screenshot(
                        path=str(args.out / f"{name}{suffix}-{width_name}-{theme}.{args.format}"), type=args.format
                    )
                context.close()
        browser.close()
    server.shutdown()
    print(f"screenshots in {args.out}")


def _shoot(page, base: str, path: str) -> bytes:
    """The page with its first figure pinned (scrolled to its first text step), as PNG bytes."""
    page.goto(base + path)
    page.wait_for_load_state("networkidle")
    page.evaluate("""() => { const s = document.querySelector('.nti-scrolly .nti-step');
        if (s) window.scrollTo(0, s.getBoundingClientRect().top + window.scrollY - 40); }""")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.nti-figure')).every("
        "f => f.dataset.ready === 'true' || f.dataset.defer === 'true')",
        timeout=15000,
    )
    page.wait_for_timeout(400)
    return page.screenshot(type="png")


def matrix(args) -> None:
    """One contact sheet per screen: a row per lesson, light then dark, each shot scaled to a
    height of at most 420 px, labelled."""
    import io

    from PIL import Image, ImageDraw
    from playwright.sync_api import sync_playwright
    from site_support import SCREENS

    chosen = {
        name: path for name, path in pages().items() if name != "index" and (not args.pages or name in args.pages)
    }
    themes = args.themes.split(",")
    server, base = serve(args.site)
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for screen, (width, height), scale, mobile in SCREENS:
            shots = {}
            for theme in themes:
                context = browser.new_context(
                    viewport={"width": width, "height": height},
                    color_scheme=theme,
                    device_scale_factor=scale,
                    is_mobile=mobile,
                    has_touch=mobile,
                )
                page = context.new_page()
                for name, path in chosen.items():
                    shots[name, theme] = Image.open(io.BytesIO(_shoot(page, base, path))).convert("RGB")
                context.close()
            factor = min(
                1.0, 420 / max(im.height for im in shots.values()), 640 / max(im.width for im in shots.values())
            )
            cell_w = max(round(im.width * factor) for im in shots.values())
            cell_h = max(round(im.height * factor) for im in shots.values())
            label = 18
            sheet = Image.new("RGB", (len(themes) * (cell_w + 8) + 8, len(chosen) * (cell_h + label + 8) + 8), "white")
            draw = ImageDraw.Draw(sheet)
            for row, name in enumerate(chosen):
                for col, theme in enumerate(themes):
                    x, y = 8 + col * (cell_w + 8), 8 + row * (cell_h + label + 8)
                    draw.text((x, y + 2), f"{name} · {screen} · {theme}", fill="black")
                    im = shots[name, theme]
                    sheet.paste(
                        im.resize((round(im.width * factor), round(im.height * factor)), Image.LANCZOS), (x, y + label)
                    )
            target = args.out / f"contact-{screen.replace('%', 'pct').replace('@', '-zoom')}.webp"
            sheet.save(target, "WEBP", quality=70, method=4)
            print(f"{target} ({target.stat().st_size // 1024} KB)")
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
