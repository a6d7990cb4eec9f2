"""Live mode's speed and size: 50 DDIM steps of one 32-px image in Chromium (ONNX Runtime Web,
WebAssembly, one thread) against PyTorch and ONNX Runtime on one CPU thread on the same machine; the
first-use download (runtime + one model: raw, gzip, brotli); and the page's responsiveness while it
samples (the longest key-press-to-paint of the precomputed slider, an interaction-to-next-paint proxy).

    python benchmarks/live.py --site DIR [--runs DIR] [--out benchmarks/results/live.json]

Not a test: the numbers depend on the machine and its load. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))

from site_support import CHROMIUM, serve  # noqa: E402

STEPS = 50
FIRST_USE = [
    "assets/js/live/worker.js",
    "assets/js/live/randn.js",
    "assets/js/live/scheduler.js",
    "assets/js/live/sampler.js",
    "assets/vendor/onnxruntime-web/ort.wasm.min.mjs",
    "assets/vendor/onnxruntime-web/ort-wasm-simd-threaded.mjs",
    "assets/vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm",
]


def sizes(files: list[Path]) -> dict:
    import brotli  # measuring only (pip install brotli); hosts such as Netlify or Cloudflare serve it

    raw = gz = br = 0
    for path in files:
        data = path.read_bytes()
        raw += len(data)
        gz += len(gzip.compress(data, 6))
        br += len(brotli.compress(data, quality=11))
    return {"raw_mb": round(raw / 1e6, 2), "gzip_mb": round(gz / 1e6, 2), "brotli_mb": round(br / 1e6, 2)}


def browser_runs(site: Path, slug: str) -> dict:
    from playwright.sync_api import sync_playwright

    with serve(site) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM))
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}step-counts/")
        figure = page.locator(".nti-figure[data-kind]").first
        figure.scroll_into_view_if_needed()
        page.wait_for_function("() => document.querySelector('.nti-figure[data-ready=true]')", timeout=60000)
        if figure.get_attribute("data-model") != slug:
            figure.locator(".nti-figure-head select").select_option(label=slug)
            page.wait_for_function(f"() => document.querySelector('.nti-figure').dataset.model === '{slug}'")
        webgpu = page.evaluate("() => Boolean(navigator.gpu)")
        live = figure.locator(".nti-live")
        live.locator(".nti-live-toggle").click()
        live.locator(".nti-live-form").wait_for()  # live-ui.js is in: NTI.Live.run exists
        live.get_by_label("Steps", exact=True).fill(str(STEPS))
        live.get_by_label("Sampler", exact=True).select_option(label="DDIM")
        # per-call times from the worker's step messages; wall time from Run to done
        page.evaluate("""() => { window.__calls = []; const run = NTI.Live.run; NTI.Live.run = (m, job, h) =>
            run(m, job, { ...h, onStep(s) { window.__calls.push(s.ms); h.onStep(s); } }); }""")
        runs = []
        for attempt in range(3):  # the first loads the runtime and the graph
            page.evaluate("() => { window.__calls = []; }")
            began = time.perf_counter()
            live.locator(".nti-live-run").click()
            page.wait_for_function("() => document.querySelector('.nti-live').dataset.state === 'done'", timeout=180000)
            wall = time.perf_counter() - began
            calls = page.evaluate("() => window.__calls")
            runs.append(
                {
                    "wall_s": round(wall, 3),
                    "median_call_ms": round(statistics.median(calls[1:]), 2),
                    "sampling_s": round(sum(calls) / 1000, 3),
                }
            )
            page.evaluate("() => { document.querySelector('.nti-live').dataset.state = ''; }")
        # responsiveness while sampling: key presses on the precomputed slider, event timing entries
        page.evaluate("""() => { window.__events = []; new PerformanceObserver((list) => {
            for (const e of list.getEntries()) window.__events.push(e.duration); }).observe({ type: 'event', durationThreshold: 16, buffered: false }); }""")
        live.get_by_label("Steps", exact=True).fill("200")
        live.locator(".nti-live-run").click()
        page.wait_for_function("() => /Step [0-9]+ of 200/.test(document.querySelector('.nti-live').textContent)")
        thumb = figure.locator(".nti-controls .nti-slider-thumb").first
        latencies = []
        for _ in range(20):
            began = time.perf_counter()
            thumb.press("ArrowRight")
            page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
            latencies.append((time.perf_counter() - began) * 1000)
        events = page.evaluate("() => window.__events")
        still_running = page.evaluate("() => document.querySelector('.nti-live').dataset.state === 'running'")
        live.locator(".nti-live-cancel").click()
        browser.close()
    return {
        "webgpu_available": webgpu,
        "runs": runs,
        "while_sampling": {
            "key_to_second_frame_ms_max": round(max(latencies), 1),
            "key_to_second_frame_ms_median": round(statistics.median(latencies), 1),
            "event_timing_max_ms": max(events) if events else 0,
            "events_over_16ms": len(events),
            "sampling_throughout": still_running,
        },
    }


def reference_calls(slug: str) -> dict:
    """PyTorch and ONNX Runtime (native) per call, batch 1, one thread: the yardsticks."""
    import numpy as np
    import onnxruntime as ort
    import torch

    from generate.core.loading import load_model
    from generate.experiments.live.compute import export

    torch.set_num_threads(1)
    model = load_model(slug, device="cpu", dtype="float32")
    x = torch.randn((1, model.channels, model.sample_size, model.sample_size))
    t = torch.tensor([500])

    def median_ms(call) -> float:
        for _ in range(5):
            call()
        times = []
        for _ in range(STEPS):
            began = time.perf_counter()
            call()
            times.append((time.perf_counter() - began) * 1000)
        return round(statistics.median(times), 2)

    with torch.no_grad():
        torch_ms = median_ms(lambda: model.unet(x, t))
    graph, _ = export(model.unet, [model.channels, model.sample_size, model.sample_size], 17, "float16", 0.02)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    feeds = {"sample": x.numpy(), "timestep": np.array([500.0], dtype=np.float32)}
    return {
        "torch_1_thread_ms": torch_ms,
        "onnxruntime_native_1_thread_ms": median_ms(lambda: session.run(None, feeds)),
        "graph_mb": round(len(graph) / 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, required=True)
    parser.add_argument("--models", nargs="+", default=["fashion-32", "emoji-32"])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "live.json")
    args = parser.parse_args()
    results = {"machine": "see env", "steps": STEPS, "models": {}}
    for slug in args.models:
        graph = sorted((args.site / "frames" / slug / "live").glob("unet-*.onnx"))
        entry = {"first_use_download": sizes([args.site / f for f in FIRST_USE] + graph[:1])}
        entry["chromium_wasm_1_thread"] = browser_runs(args.site, slug)
        entry.update(reference_calls(slug))
        warm = entry["chromium_wasm_1_thread"]["runs"][1:]
        entry["chromium_per_call_vs_torch"] = round(
            statistics.median(r["median_call_ms"] for r in warm) / entry["torch_1_thread_ms"], 2
        )
        results["models"][slug] = entry
        print(json.dumps({slug: entry}, indent=1))
    args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
