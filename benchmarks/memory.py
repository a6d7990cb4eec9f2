"""Peak memory of a 256-px precompute as its grid grows: the grid must never sit in memory whole.

    .venv/bin/python benchmarks/memory.py [--seeds 4 16] [--out benchmarks/results]

A random-weight UNet2DModel at 256 px (3 channels, narrow so a CPU runs it in minutes) goes through
the reverse experiment (every step's four panels are frames) with a growing number of seeds, in
batches of MAX_BATCH seeds. Each
run is a separate process; its peak RSS comes from RUSAGE_CHILDREN. Raw frame bytes grow with the
grid; the peak should not (the writer queues at most writer.BUDGET_BYTES of frames).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
from diffusers import DDPMScheduler, UNet2DModel

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from run import measured, run_records  # noqa: E402

STEPS = 25
MAX_BATCH = 4  # the batch (not the grid) sets the working set: more seeds mean more units of 4


def narrow_256px_model(folder: Path) -> Path:
    torch.manual_seed(0)
    unet = UNet2DModel(
        sample_size=256,
        in_channels=3,
        out_channels=3,
        block_out_channels=(16, 32, 32),
        layers_per_block=1,
        norm_num_groups=8,
        down_block_types=("DownBlock2D",) * 3,
        up_block_types=("UpBlock2D",) * 3,
    )
    unet.save_pretrained(folder)
    DDPMScheduler(num_train_timesteps=1000).save_pretrained(folder)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="n2i-memory-"))
    model = narrow_256px_model(work / "model-256")
    rows = []
    for seeds in args.seeds:
        config = work / f"seeds-{seeds}.toml"
        config.write_text(
            f'version = 1\nexperiments = ["reverse"]\n[run]\ndevice = "cpu"\nmax_batch = {MAX_BATCH}\n'
            f"[reverse]\nsteps = {STEPS}\nseeds = {list(range(seeds))}\n"
        )
        runs = work / f"runs-{seeds}"
        result = measured(
            [
                sys.executable,
                "-m",
                "generate",
                "precompute",
                "--config",
                str(config),
                "--model",
                str(model),
                "--runs",
                str(runs),
                "--quiet",
            ]
        )
        record = run_records(runs)["reverse"]
        frames = list(runs.glob("*/reverse/*/frames/**/*.png"))
        rows.append(
            {
                "seeds": seeds,
                "frames": len(frames),
                "raw_frame_mb": round(len(frames) * 256 * 256 * 3 / 2**20, 1),
                "png_mb": round(sum(f.stat().st_size for f in frames) / 2**20, 1),
                "frames_queued_peak_mb": record["frames_queued_peak_mb"],
                "seconds": result["seconds"],
                "peak_rss_mb": result["peak_rss_mb"],
            }
        )
        print(rows[-1], flush=True)
    report = {
        "machine": {"platform": platform.platform(), "torch_threads": torch.get_num_threads()},
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "model": "random UNet2DModel, 256 px, 3 channels, (16, 32, 32)",
        "experiment": f"reverse, {STEPS} DDPM steps, 4 frames per step and seed, max_batch {MAX_BATCH}",
        "runs": rows,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "memory-256px.json").write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
