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
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from generate.core.loading import load_model  # noqa: E402
from generate.core.memory import extra_inputs  # noqa: E402
from generate.core.traced import unet_call  # noqa: E402
from generate.precompute import precompute  # noqa: E402
from generate.precompute.config import load_config  # noqa: E402


def timed_precompute(config, runs: Path, model: str, only=None) -> tuple[list[dict], float]:
    start = time.perf_counter()
    results = precompute(config, runs, models=[model], only=only, progress=False, log=lambda *a: None)
    return results, time.perf_counter() - start


POWERS = (1, 2, 4, 8, 16, 32, 64, 128)  # the best batch is chosen among these (measured longer): taking the
# maximum over every size a grid happens to use would pick the luckiest noisy measurement


def ceiling(model, batch_sizes=POWERS, repeats: int = 3) -> dict[int, dict]:
    """Pure UNet throughput per batch size: no scheduler, no encoding, no I/O (input as precompute feeds it)."""
    shape = (model.channels, model.sample_size, model.sample_size)
    result = {}
    with torch.no_grad():
        for batch in sorted(set(batch_sizes)):
            x = torch.randn((batch, *shape), device=model.device, dtype=model.dtype)
            x = x.contiguous(memory_format=torch.channels_last)
            t = torch.full((batch,), 500, device=model.device)
            extra = extra_inputs(model.unet, batch, model.device)  # a class label each, for a conditional model
            labels = extra.get("class_labels")
            # the call the precompute makes (core/traced.py: the frozen trace on a CPU, where exact)
            call = lambda: unet_call(model, x, t, labels)  # noqa: E731
            call()  # warm-up (and, the first time, the trace)
            call()
            calls = max(3, int(64 / batch) * repeats) * (2 if batch in POWERS else 1)
            if model.device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(calls):
                call()
            if model.device.type == "cuda":
                torch.cuda.synchronize()
            seconds = time.perf_counter() - start
            result[batch] = {
                "images_per_s": round(batch * calls / seconds, 2),
                "calls_per_s": round(calls / seconds, 3),
            }
    return result


# Runs a command and reports the peak RSS of its whole process tree (RUSAGE_CHILDREN of a small parent:
# measuring from this process would count the benchmark's own memory, inherited by fork).
_PEAK = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print('PEAK_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)"
)


def measured(command: list[str]) -> dict:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PEAK, *command], cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    peak_kb = int(done.stderr.rsplit("PEAK_KB", 1)[1].split()[0])
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak_kb / 1024, 1)}


def run_records(runs: Path) -> dict[str, dict]:
    """experiment -> its newest run.json (timings and images per call)."""
    records = {}
    for path in sorted(runs.glob("*/*/*/run.json"), key=lambda p: json.loads(p.read_text())["finished_ns"]):
        records[path.parent.parent.name] = json.loads(path.read_text())
    return records


def efficiency(records: dict[str, dict], throughput: dict[int, dict]) -> dict:
    """Each experiment's wall time against two ceilings from the same machine and model:
    - images at the best batch size (the issue's ceiling: what a perfectly batched grid would cost);
    - the same calls at the same batch sizes (the bound a chain of dependent steps allows).
    """
    best_ips = max(throughput[b]["images_per_s"] for b in POWERS)
    table = {}
    for name, r in records.items():
        per_call = {int(k): v for k, v in r["images_per_call"].items()}
        bound = sum(calls / throughput[size]["calls_per_s"] for size, calls in per_call.items())
        table[name] = {
            "seconds": r["seconds"],
            "model_calls": r["model_calls"],
            "images": r["images"],
            "images_per_call": r["images_per_call"],
            "ceiling_seconds": round(r["images"] / best_ips, 3),
            "efficiency": round(r["images"] / best_ips / r["seconds"], 3),
            "same_calls_seconds": round(bound, 3),
            "efficiency_vs_same_calls": round(bound / r["seconds"], 3),
        }
    total = {
        key: round(sum(t[key] for t in table.values()), 3)
        for key in ("seconds", "model_calls", "images", "ceiling_seconds", "same_calls_seconds")
    }
    total["efficiency"] = round(total["ceiling_seconds"] / total["seconds"], 3)
    total["efficiency_vs_same_calls"] = round(total["same_calls_seconds"] / total["seconds"], 3)
    table["all"] = total
    return table


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
    report: dict = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "device": str(model.device),
            "gpu": torch.cuda.get_device_name() if model.device.type == "cuda" else None,
        },
        "model": args.model,
        "config": args.config,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    generate = [sys.executable, "-m", "generate"]

    # The default precompute in its own process: wall time, peak memory, and per-experiment timings.
    runs = work / "runs"
    whole = measured(
        [
            *generate,
            "precompute",
            "--config",
            args.config,
            "--model",
            args.model,
            "--runs",
            str(runs),
            "--device",
            args.device,
            "--quiet",
        ]
    )
    records = run_records(runs)
    sizes = {int(k) for r in records.values() for k in r["images_per_call"]}
    throughput = ceiling(model, batch_sizes=(*POWERS, *sizes))
    best_batch = max(POWERS, key=lambda b: throughput[b]["images_per_s"])
    report["unet_throughput"] = {str(k): v for k, v in throughput.items()}
    report["precompute"] = {
        "process_seconds": whole["seconds"],
        "peak_rss_mb": whole["peak_rss_mb"],
        "best_batch": best_batch,
        "best_images_per_s": throughput[best_batch]["images_per_s"],
        "experiments": efficiency(records, throughput),
    }

    # Experiments --model cannot run (guidance needs a class-conditional model) run on the models
    # their config section names, each against that model's own ceiling; they stay out of "all".
    skipped = [name for name in config.experiments if name not in records]
    for name in skipped:
        for other in config.section_models.get(name, []):
            own_runs = work / f"runs-{name}"
            timed_precompute(config, own_runs, other, only=[name])
            own = run_records(own_runs)
            if name in own:
                own_model = load_model(other, device=args.device)
                sizes = {int(k) for k in own[name]["images_per_call"]}
                table = efficiency({name: own[name]}, ceiling(own_model, batch_sizes=(*POWERS, *sizes)))
                report["precompute"]["experiments"][name] = dict(table[name], model=other)
                break
    report["precompute"]["experiments"]["all"] = report["precompute"]["experiments"].pop("all")

    # The notebooks' way: one image per UNet call, on the same grid (patch_noise, the widest batch).
    single = load_config(args.config)
    single.run.max_batch = 1
    one_by_one, seconds = timed_precompute(single, work / "runs-single", args.model, only=["patch_noise"])
    batched = records["patch_noise"]
    report["one_image_per_call"] = {
        "experiment": "patch_noise",
        "batched_seconds": batched["seconds"],
        "single_seconds": round(seconds, 2),
        "batched_images_per_s": round(batched["images"] / batched["seconds"], 1),
        "single_images_per_s": round(one_by_one[0]["images"] / seconds, 1),
        "speedup": round(seconds / batched["seconds"], 2),
    }

    again, seconds = timed_precompute(config, runs, args.model)
    report["rerun_unchanged"] = {"seconds": round(seconds, 2), "model_calls": sum(r["model_calls"] for r in again)}
    # One experiment's grid grows by one cell: only that cell is computed (the others are linked).
    grown = load_config(args.config)
    grown.step_counts.steps = [*grown.step_counts.steps, 100]
    changed, seconds = timed_precompute(grown, runs, args.model)
    report["one_grid_changed"] = {
        "change": "step_counts.steps += [100]",
        "seconds": round(seconds, 2),
        "model_calls": sum(r["model_calls"] for r in changed),
        "experiments_computed": [r["experiment"] for r in changed if not r["cached"]],
    }

    if not args.skip_site:
        cache, site = work / "sheet-cache", work / "site"
        build = [*generate, "site", "--runs", str(runs), "--out", str(site), "--cache", str(cache)]
        report["site_build"] = {"cold": measured(build), "unchanged": measured(build)}
        newer = load_config(args.config)
        newer.mix_noise.scales = [*newer.mix_noise.scales, 0.15]
        timed_precompute(newer, runs, args.model, only=["mix_noise"])
        report["site_build"]["after_one_new_run"] = measured(build)

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
