#!/usr/bin/env bash
# The default grids at 256 px, end to end on this CPU: a random 256-px UNet light enough for a CPU
# (channels (4, 8), no attention: the site's weight and scrubbing depend on the frames, not on the
# UNet's width), precomputed by torchrun with 2 processes, the site built from it, then each page's
# initial transfer and the scrub latency measured in Chromium. About 30 min on the 2-core VM.
#   bash benchmarks/scale_256.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
WORK=${1:-/tmp/n2i-scale-256}
RESULTS=benchmarks/results
mkdir -p "$WORK" "$RESULTS"
$PY - "$WORK/model" <<'PY'
import sys
from pathlib import Path
import torch
from diffusers import DDPMScheduler, UNet2DModel
torch.manual_seed(0)
unet = UNet2DModel(sample_size=256, in_channels=3, out_channels=3, block_out_channels=(4, 8), layers_per_block=1,
                   add_attention=False, down_block_types=("DownBlock2D",) * 2, up_block_types=("UpBlock2D",) * 2,
                   norm_num_groups=2)
unet.save_pretrained(sys.argv[1])
DDPMScheduler(num_train_timesteps=1000).save_pretrained(sys.argv[1])
PY
start=$(date +%s)
OMP_NUM_THREADS=1 .venv/bin/torchrun --standalone --nproc_per_node 2 -m generate precompute --config default \
    --model "$WORK/model" --runs "$WORK/runs" --quiet 2>&1 | grep -v "^W1\|\*\*\*\*" | tee "$WORK/precompute.txt"
precompute=$(( $(date +%s) - start ))
start=$(date +%s)
$PY -m generate site --runs "$WORK/runs" --out "$WORK/site" | tail -3
site=$(( $(date +%s) - start ))
$PY benchmarks/transfer.py --site "$WORK/site" --out "$RESULTS/transfer-256-default.json"
$PY benchmarks/scrub.py --site "$WORK/site" --out "$RESULTS/scrub-256-default.json"
frames=$(find "$WORK/runs" -name '*.png' | wc -l)
$PY - "$RESULTS/scale-256-default.json" "$precompute" "$site" "$frames" "$(du -sb "$WORK/runs" | cut -f1)" \
    "$(du -sb "$WORK/site" | cut -f1)" <<'PY'
import json, sys, time
out, precompute, site, frames, runs_bytes, site_bytes = sys.argv[1:]
json.dump({"model": "random UNet2DModel, 256 px, 3 channels, blocks (4, 8), no attention",
           "config": "default", "precompute": "torchrun --standalone --nproc_per_node 2 (1 thread each)",
           "precompute_seconds": int(precompute), "site_seconds": int(site), "frames": int(frames),
           "runs_mb": round(int(runs_bytes) / 2**20, 1), "site_mb": round(int(site_bytes) / 2**20, 1),
           "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, open(out, "w"), indent=1)
print(open(out).read())
PY
