"""One process with T threads against P processes (torchrun) on the same grid, in one run.

    python benchmarks/processes.py                          # this CPU: 1 x 2 threads vs 2 x 1 thread
    python benchmarks/processes.py --device cuda --processes 8 --threads 8   # a GPU machine: 1 GPU vs 8

Each launch computes the default config (or --config) for one model from scratch into its own
temporary runs folder; the wall time covers the whole command (imports, model load, probe, grid,
manifests). Per-process work comes from run.json. On a CPU the two launches' bytes may differ in
the last bit (the thread count decides oneDNN's summation order; see plan.py), so their run keys
differ; on GPUs they are the same.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def launch(command: list[str], runs: Path, threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    started = time.perf_counter()
    done = subprocess.run(command + ["--runs", str(runs), "--quiet"], cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr[-4000:]}")
    records = [json.loads(p.read_text()) for p in runs.rglob("run.json")]
    processes: dict[int, dict] = {}
    for record in records:
        for p in record["processes"]:
            mine = processes.setdefault(p["rank"], {"rank": p["rank"], "units": 0, "images": 0, "seconds": 0.0})
            mine["units"] += p["units"]
            mine["images"] += p["images"]
            mine["seconds"] = round(mine["seconds"] + p["seconds"], 2)
    calls = sum(r["model_calls"] for r in records)
    images = sum(r["images"] for r in records)
    return {
        "command": " ".join(Path(command[0]).name if i == 0 else c for i, c in enumerate(command)),
        "threads_per_process": threads,
        "wall_seconds": round(seconds, 2),
        "model_calls": calls,
        "images": images,
        "images_per_s": round(images / seconds, 1),
        "calls_per_s": round(calls / seconds, 1),
        "per_process": sorted(processes.values(), key=lambda p: p["rank"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fashion-32")
    parser.add_argument("--config", default="default")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--threads",
        type=int,
        default=2,
        help="threads of the one process; each of the P processes gets threads // P (at least 1)",
    )
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "processes-cpu.json"))
    args = parser.parse_args()
    precompute = [
        "-m",
        "generate",
        "precompute",
        "--config",
        args.config,
        "--model",
        args.model,
        "--device",
        args.device,
    ]
    with tempfile.TemporaryDirectory() as temp:
        one = launch([sys.executable, *precompute], Path(temp) / "one", args.threads)
        many = launch(
            [str(BIN / "torchrun"), "--standalone", "--nproc_per_node", str(args.processes), *precompute],
            Path(temp) / "many",
            max(1, args.threads // args.processes),
        )
    result = {
        "machine": {"cpus": os.cpu_count(), "device": args.device},
        "model": args.model,
        "config": args.config,
        "one_process": one,
        "processes": many,
        "speedup": round(one["wall_seconds"] / many["wall_seconds"], 3),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
