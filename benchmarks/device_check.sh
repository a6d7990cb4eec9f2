#!/usr/bin/env bash
# One prepared check on a lent GPU machine (the `device` tool; CI never has one). It needs only the
# machine's python3 with torch, plus diffusers carried as wheels in .whl/ (nothing can be fetched there):
#   1. the smoke config twice on cuda, the second run killed half-way and resumed: the same bytes;
#   2. the default config (both shipped models) on cuda, timed, then `verify`;
#   3. benchmarks/gpu.py: UNet calls/s of the published 32-px and 256-px architectures (float16).
# Results go to $OUT (gpu-*.json, precompute-*.txt).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -c "import torch, diffusers; print('torch', torch.__version__, 'diffusers', diffusers.__version__)" | tee -a "$OUT/gpu.txt"

echo "== 1. smoke on cuda: whole run, then a run killed half-way and resumed"
python3 -m generate precompute --config smoke --runs /tmp/smoke-a --device ${DEVICE:-cuda} --quiet || exit 1
python3 -m generate precompute --config smoke --runs /tmp/smoke-b --device ${DEVICE:-cuda} --quiet & pid=$!
for _ in $(seq 600); do  # kill it as soon as its first unit is on disk (at most 60 s)
  if compgen -G "/tmp/smoke-b/*/*/*/units/*.json" >/dev/null; then kill -9 $pid; echo "killed after the first unit" | tee -a "$OUT/gpu.txt"; break; fi
  kill -0 $pid 2>/dev/null || { echo "finished before the kill" | tee -a "$OUT/gpu.txt"; break; }
  sleep 0.1
done
wait $pid 2>/dev/null
python3 -m generate precompute --config smoke --runs /tmp/smoke-b --device ${DEVICE:-cuda} --quiet || exit 1
if diff -r -x run.json -x .lock /tmp/smoke-a /tmp/smoke-b >/dev/null; then echo "smoke: resumed run byte-identical" | tee -a "$OUT/gpu.txt"
else echo "smoke: BYTES DIFFER after resume" | tee -a "$OUT/gpu.txt"; fi

[ -n "${SMOKE_ONLY:-}" ] && exit 0
echo "== 2. default config on cuda"
start=$(date +%s%N)
python3 -m generate precompute --config default --runs /tmp/runs-gpu --device ${DEVICE:-cuda} --quiet 2>&1 | tee "$OUT/precompute-default.txt"
echo "wall ms: $(( ($(date +%s%N) - start) / 1000000 ))" | tee -a "$OUT/precompute-default.txt"
python3 -m generate verify --runs /tmp/runs-gpu | tail -1 | tee -a "$OUT/precompute-default.txt"
cat /tmp/runs-gpu/*/*/*/run.json > "$OUT/run-records.txt"

echo "== 3. UNet throughput"
timeout 200 python3 benchmarks/gpu.py --arch cifar10-32 celebahq-256 --dtype float16 --seconds 2 --out "$OUT" | tail -60
