"""Benchmarks: precompute against the model-call ceiling, the one-image loop, reruns, the site build.

    .venv/bin/python benchmarks/run.py [--model fashion-32] [--config default] [--out benchmarks/results]

Writes results/<machine>-<model>.json and prints a summary; benchmarks/README.md quotes the latest.
Not a test: numbers depend on the machine; run it on a quiet one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from generate.config import load_config  # noqa: E402
from generate.loading import load_model  # noqa: E402
from generate.precompute import precompute  # noqa: E402


def ceiling(model, batch_sizes=(1, 4, 16, 64, 128), repeats: int = 3) -> dict:
    """Pure UNet throughput (images/s) per batch size: no scheduler, no encoding, no I/O."""
    shape = (model.channels, model.sample_size, model.sample_size)
    result = {}
    with torch.no_grad():
        for batch in batch_sizes:
            x = torch.randn((batch, *shape), device=model.device, dtype=model.dtype)
            t = torch.full((batch,), 500, device=model.device)
            model.unet(x, t)  # warm-up
            calls = max(2, int(64 / batch) * repeats)
            if model.device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(calls):
                model.unet(x, t)
            if model.device.type == "cuda":
                torch.cuda.synchronize()
            seconds = time.perf_counter() - start
            result[batch] = {"images_per_s": batch * calls / seconds, "calls_per_s": calls / seconds}
    return result


def timed_precompute(config, runs: Path, model: str, only=None) -> tuple[list[dict], float]:
    start = time.perf_counter()
    results = precompute(config, runs, models=[model], only=only, progress=False, log=lambda *a: None)
    return results, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fashion-32")
    parser.add_argument("--config", default="default")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    parser.add_argument("--skip-site", action="store_true")
    args = parser.parse_args()
    config = load_config(args.config)
    config.run.device = args.device
    model = load_model(args.model, device=args.device)
    work = Path(tempfile.mkdtemp(prefix="n2i-bench-"))
    report: dict = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                "torch_threads": torch.get_num_threads(), "device": str(model.device),
                                "gpu": torch.cuda.get_device_name() if model.device.type == "cuda" else None},
                    "model": args.model, "config": args.config, "date": time.strftime("%Y-%m-%d %H:%M")}

    throughput = ceiling(model)
    best_batch = max(throughput, key=lambda b: throughput[b]["images_per_s"])
    best_ips = throughput[best_batch]["images_per_s"]
    report["unet_throughput"] = {str(k): v for k, v in throughput.items()}

    results, total = timed_precompute(config, work / "runs", args.model)
    experiments = {}
    for r in results:
        ceiling_s = r["images"] / best_ips
        experiments[r["experiment"]] = {
            "seconds": r["seconds"], "model_calls": r["model_calls"], "images": r["images"],
            "ceiling_seconds": round(ceiling_s, 3), "efficiency": round(ceiling_s / r["seconds"], 3),
            "mean_batch": round(r["images"] / max(1, r["model_calls"]), 1)}
    report["precompute"] = {"total_seconds": round(total, 2), "experiments": experiments,
                            "best_batch": best_batch, "best_images_per_s": round(best_ips, 1),
                            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}

    # The notebooks' way: one image per UNet call, on the same grid (patch_noise, the widest batch).
    single = load_config(args.config)
    single.run.max_batch = 1
    one_by_one, seconds = timed_precompute(single, work / "runs-single", args.model, only=["patch_noise"])
    batched = experiments["patch_noise"]
    report["one_image_per_call"] = {
        "experiment": "patch_noise", "batched_seconds": batched["seconds"], "single_seconds": round(seconds, 2),
        "batched_images_per_s": round(batched["images"] / batched["seconds"], 1),
        "single_images_per_s": round(one_by_one[0]["images"] / seconds, 1),
        "speedup": round(seconds / batched["seconds"], 2)}

    again, seconds = timed_precompute(config, work / "runs", args.model)
    report["rerun_unchanged"] = {"seconds": round(seconds, 2), "model_calls": sum(r["model_calls"] for r in again)}

    if not args.skip_site:
        site = {}
        for label in ("full", "incremental_after_no_change"):
            if label == "full":
                shutil.rmtree(REPO / "site_src" / "frames", ignore_errors=True)
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "generate", "site", "--runs", str(work / "runs"),
                                   "--out", str(work / "site")], cwd=REPO, capture_output=True, text=True)
            site[label] = {"seconds": round(time.perf_counter() - start, 2), "ok": done.returncode == 0}
        site["peak_rss_mb_children"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        report["site_build"] = site

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = f"{platform.node() or 'machine'}-{model.device.type}-{args.model}.json".replace("/", "-")
    (out / "latest.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / name).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
