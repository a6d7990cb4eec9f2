"""UNet throughput of the published DDPM architectures (random weights) against the device's peak.

    .venv/bin/python benchmarks/gpu.py [--arch cifar10-32 celebahq-256] [--dtype float16] [--compile]
                                       [--device cuda] [--seconds 5] [--precompute]

For each architecture: FLOPs per image (torch's FlopCounterMode on one forward pass), then for each
batch size (powers of two up to the batch fitted to free memory) model calls/s, images/s and the
achieved FLOP/s as a share of the device's dense peak for that dtype. With --precompute it also runs
benchmarks/run.py on the architecture (the default config end to end, against its own ceiling).
Weights are random: throughput does not depend on them, and no download is needed. Runs on a CPU too
(no peak figure there), which is how it is checked without a GPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from diffusers import DDPMScheduler, UNet2DModel
from torch.utils.flop_counter import FlopCounterMode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from generate.core.memory import call_batch_for  # noqa: E402

# config.json of google/ddpm-cifar10-32 and google/ddpm-celebahq-256 (the fields that shape the network)
ARCHITECTURES = {
    "cifar10-32": dict(
        sample_size=32,
        block_out_channels=(128, 256, 256, 256),
        down_block_types=("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
    ),
    "celebahq-256": dict(
        sample_size=256,
        block_out_channels=(128, 128, 256, 256, 512, 512),
        down_block_types=("DownBlock2D",) * 4 + ("AttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "AttnUpBlock2D") + ("UpBlock2D",) * 4,
    ),
}
COMMON = dict(
    in_channels=3,
    out_channels=3,
    layers_per_block=2,
    attention_head_dim=None,
    norm_eps=1e-6,
    downsample_padding=0,
    flip_sin_to_cos=False,
    freq_shift=1,
    norm_num_groups=32,
)

# Dense (no sparsity) tensor-core peaks, TFLOP/s, from NVIDIA's data sheets; float32 is the non-tensor rate.
PEAK_TFLOPS = {
    "H100 80GB HBM3": {"float16": 989, "bfloat16": 989, "float32": 67},  # SXM
    "H100 PCIe": {"float16": 756, "bfloat16": 756, "float32": 51},
    "H200": {"float16": 989, "bfloat16": 989, "float32": 67},
    "A100": {"float16": 312, "bfloat16": 312, "float32": 19.5},
    "L4": {"float16": 121, "bfloat16": 121, "float32": 30},
}


def peak_for(device_name: str, dtype: str) -> float | None:
    for key, peaks in PEAK_TFLOPS.items():
        if key in device_name:
            return peaks.get(dtype)
    return None


def build(arch: str) -> UNet2DModel:
    torch.manual_seed(0)
    return UNet2DModel(**ARCHITECTURES[arch], **COMMON)


@torch.no_grad()
def flops_per_image(unet: UNet2DModel, size: int) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        unet(torch.zeros(1, 3, size, size), torch.tensor([500]))
    return counter.get_total_flops()


@torch.no_grad()
def throughput(unet, size: int, batch: int, device, dtype, seconds: float) -> dict:
    x = torch.randn(batch, 3, size, size, device=device, dtype=dtype).contiguous(memory_format=torch.channels_last)
    t = torch.full((batch,), 500, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    unet(x, t)
    unet(x, t)  # warm-up (and compilation, with --compile)
    sync()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or calls < 3:
        unet(x, t)
        calls += 1
        if calls % 4 == 0:
            sync()
    sync()
    elapsed = time.perf_counter() - start
    return {"batch": batch, "calls_per_s": round(calls / elapsed, 3), "images_per_s": round(batch * calls / elapsed, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", default=list(ARCHITECTURES), choices=list(ARCHITECTURES))
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--dtype",
        default=None,
        choices=["float32", "float16", "bfloat16"],
        help="default: float16 on CUDA, float32 on CPU",
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the UNet")
    parser.add_argument("--max-batch", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=5.0, help="time per batch size")
    parser.add_argument("--precompute", action="store_true", help="also run benchmarks/run.py on each architecture")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    args = parser.parse_args()
    device = torch.device(args.device)
    dtype_name = args.dtype or ("float16" if device.type == "cuda" else "float32")
    dtype = getattr(torch, dtype_name)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    report = {
        "device": name,
        "dtype": dtype_name,
        "compile": args.compile,
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "architectures": {},
    }
    peak = peak_for(name, dtype_name)
    for arch in args.arch:
        unet = build(arch)
        size = ARCHITECTURES[arch]["sample_size"]
        flops = flops_per_image(unet, size)
        unet.to(device=device, dtype=dtype, memory_format=torch.channels_last).eval()
        fitted = call_batch_for(unet, (3, size, size), device, dtype, args.max_batch)
        if args.compile:
            unet = torch.compile(unet)
        batches = sorted({b for b in (1, 4, 16, 64, 256) if b <= fitted} | {fitted})
        rows = []
        for batch in batches:
            row = throughput(unet, size, batch, device, dtype, args.seconds)
            row["tflops"] = round(row["images_per_s"] * flops / 1e12, 2)
            row["share_of_peak"] = round(row["tflops"] / peak, 3) if peak else None
            rows.append(row)
            print(arch, row, flush=True)
        entry = {
            "parameters_m": round(sum(p.numel() for p in unet.parameters()) / 1e6, 1),
            "gflops_per_image": round(flops / 1e9, 2),
            "fitted_batch": fitted,
            "peak_tflops": peak,
            "batches": rows,
        }
        if args.precompute:
            with tempfile.TemporaryDirectory() as folder:
                build(arch).save_pretrained(folder)
                DDPMScheduler(num_train_timesteps=1000).save_pretrained(folder)
                out = Path(args.out) / f"gpu-precompute-{arch}"
                subprocess.run(
                    [
                        sys.executable,
                        str(REPO / "benchmarks" / "run.py"),
                        "--model",
                        folder,
                        "--device",
                        args.device,
                        "--skip-site",
                        "--out",
                        str(out),
                    ],
                    check=True,
                )
                entry["precompute"] = json.loads((out / "latest.json").read_text())["precompute"]
        report["architectures"][arch] = entry
        del unet
        if device.type == "cuda":
            torch.cuda.empty_cache()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"gpu-{device.type}.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
