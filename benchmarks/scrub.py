"""Scrub speed of every figure slider, once its frames are loaded, in headless Chromium.

    .venv/bin/python benchmarks/scrub.py --site /tmp/site-prev [--out benchmarks/results/scrub.json]

For each figure, each model and each slider: focus the thumb, press Home, then ArrowRight through
every position. In the page, each keydown's latency is measured from the event's timeStamp to
  sync:  the end of its handling (every panel's canvas redrawn; work done on the main thread)
  frame: the next animation frame after it (when the update can reach the screen)
and reported as p50/p95 in ms; `frame` includes waiting for vsync, so `sync` is what the code
controls. Layout shifts (CLS, shifts without recent input) are summed over load and sweeps.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from site_browser import READY, chromium, serve  # noqa: E402

PROBE = """() => {
  window.__scrub = [];
  window.__cls = 0;
  new PerformanceObserver((list) => { for (const e of list.getEntries()) if (!e.hadRecentInput) window.__cls += e.value; })
    .observe({ type: "layout-shift", buffered: true });
  // bubble phase on window: runs after the slider's own keydown handler has redrawn the canvases
  window.addEventListener("keydown", (event) => {
    const sync = performance.now() - event.timeStamp;
    requestAnimationFrame(() => window.__scrub.push([sync, performance.now() - event.timeStamp]));
  });
}"""
WAIT = "f => new Promise(r => { const t = () => (f.dataset.ready === 'true' && f.dataset.sheets === 'all') ? r() : setTimeout(t, 20); t(); })"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def sweep(page, figure, index: int) -> list[list[float]]:
    for other in range(figure.locator("[role=slider]").count()):
        if other != index:  # other sliders at their start: the forward/backward step slider then has most positions
            figure.locator("[role=slider]").nth(other).focus()
            page.keyboard.press("Home")
    thumb = figure.locator("[role=slider]").nth(index)
    lo, hi = int(thumb.get_attribute("aria-valuemin")), int(thumb.get_attribute("aria-valuemax"))
    thumb.focus()
    page.keyboard.press("Home")
    page.evaluate("() => { window.__scrub = []; }")
    for _ in range(hi - lo):
        page.keyboard.press("ArrowRight")
    page.wait_for_timeout(50)
    return page.evaluate("() => window.__scrub")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", required=True, type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "scrub.json")
    parser.add_argument(
        "--pages",
        nargs="*",
        default=["reverse/", "step-counts/", "forward-backward/", "similar-noise-patch/", "similar-noise-mix/"],
    )
    args = parser.parse_args()
    results, cls = {}, {}
    with serve(args.site) as base, chromium() as browser:
        for path in args.pages:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.on("pageerror", lambda e: print("page error:", e))
            page.on("console", lambda m: print("console:", m.text) if m.type == "error" else None)
            page.goto(base + path)
            page.evaluate(PROBE)
            page.wait_for_function(READY)
            for figure in page.locator(".nti-figure[data-kind]").all():
                figure.scroll_into_view_if_needed()
                figure.hover()
                figure.evaluate(WAIT)
                models = figure.locator(".nti-figure-head select")
                count = models.locator("option").count() if models.count() else 1
                for m in range(count):
                    if m:
                        previous = figure.get_attribute("data-model")
                        models.select_option(str(m))
                        figure.evaluate(
                            "(f, p) => new Promise(r => { const t = () => f.dataset.model !== p ? r() : setTimeout(t, 20); t(); })",
                            previous,
                        )
                        figure.evaluate(WAIT)
                    slug = figure.get_attribute("data-model")
                    for s in range(figure.locator("[role=slider]").count()):
                        samples = sweep(page, figure, s)
                        if not samples:
                            continue
                        name = f"{figure.get_attribute('data-kind')} / {slug} / slider {s}"
                        sync, frame = [x[0] for x in samples], [x[1] for x in samples]
                        results[name] = {
                            "positions": len(samples),
                            "sync_p50_ms": round(statistics.median(sync), 2),
                            "sync_p95_ms": round(percentile(sync, 0.95), 2),
                            "frame_p50_ms": round(statistics.median(frame), 2),
                            "frame_p95_ms": round(percentile(frame, 0.95), 2),
                        }
                        r = results[name]
                        print(
                            f"{name:60s} n={r['positions']:4d} sync p50 {r['sync_p50_ms']:5.2f} p95 {r['sync_p95_ms']:5.2f} ms"
                            f" | next frame p50 {r['frame_p50_ms']:5.2f} p95 {r['frame_p95_ms']:5.2f} ms"
                        )
            cls[path] = round(page.evaluate("() => window.__cls"), 4)
            print(f"CLS {path}: {cls[path]}")
            context.close()
            # written after every page, so a slow machine still leaves the pages it finished
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps({"sliders": results, "cls": cls}, indent=1))


if __name__ == "__main__":
    main()
