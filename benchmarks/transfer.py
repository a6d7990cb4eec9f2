"""Initial transfer per page of a built site: response bodies until network idle, no interaction.

    .venv/bin/python benchmarks/transfer.py --site /tmp/site-prev [--out benchmarks/results/transfer.json]

Each page opens in a fresh browser context (empty cache) at 1280 x 900, as a first visit would.
Also per page, from the figure data: `scrub_bytes`, what a reader at 1 device pixel per CSS pixel
downloads to scrub every figure of the page through all of its first model's frames (every sheet at
the tier that screen loads: previews where there are previews), the triangle grid included.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from site_browser import READY, chromium, serve, site_pages  # noqa: E402


def measure(browser, url: str) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    bodies: dict[str, int] = {}

    def finished(request):
        try:
            bodies[request.url] = bodies.get(request.url, 0) + request.sizes()["responseBodySize"]
        except Exception:  # torn down by navigation: nothing counted
            pass

    page.on("requestfinished", finished)
    page.goto(url)
    page.wait_for_function(READY, timeout=30000)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(700)  # late on-demand loads (observers fire after the first frame)
    context.close()
    heaviest = sorted(bodies.items(), key=lambda kv: -kv[1])[:5]
    return {
        "bytes": sum(bodies.values()),
        "requests": len(bodies),
        "heaviest": [[u.split("/", 3)[-1], n] for u, n in heaviest],
    }


def scrub_bytes(site: Path, path: str) -> int:
    html = (
        (site / path / "index.html").read_text(encoding="utf-8")
        if path
        else (site / "index.html").read_text(encoding="utf-8")
    )
    total = 0
    # each figure's own data file (data-src): the overview draws from the reverse figure's data
    # (relative to the page: "../generated/x.json" on a lesson)
    for name in sorted(
        set(re.findall(r'data-kind="[a-z_0-9]+" data-src="(?:\.\./)*generated/([a-z_0-9]+)\.json"', html))
    ):
        models = json.loads((site / "generated" / f"{name}.json").read_text())["models"]
        if not models:
            continue
        first = models[0]
        total += sum((sheet.get("preview") or sheet)["bytes"] for sheet in first["sheets"])
        total += first.get("triangle", {}).get("grid", {}).get("bytes", 0)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", required=True, type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "transfer.json")
    args = parser.parse_args()
    results = {}
    with serve(args.site) as base, chromium() as browser:
        for path in site_pages(args.site):
            results[path or "index"] = measure(browser, base + path)
            r = results[path or "index"]
            r["scrub_bytes"] = scrub_bytes(args.site, path)
            print(
                f"{path or 'index':28s} {r['bytes'] / 1e6:6.2f} MB  {r['requests']:3d} requests  "
                f"scrub all {r['scrub_bytes'] / 1e6:6.2f} MB  heaviest {r['heaviest'][0][0]} {r['heaviest'][0][1] / 1e3:.0f} kB"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
