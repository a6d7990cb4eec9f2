#!/usr/bin/env bash
# The default config on a 256-px model (random narrow UNet, as benchmarks/memory.py makes it) on a
# lent GPU: the estimate (--dry-run), then the run, timed per experiment, with the host's peak RSS
# and the runs' size. Needs diffusers carried as wheels in .whl/ (see device_check.sh).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
python3 - <<'PY'
import sys; sys.path.insert(0, "benchmarks")
from pathlib import Path
from memory import narrow_256px_model
narrow_256px_model(Path("/tmp/narrow256"))
PY
python3 -m generate precompute --config default --model /tmp/narrow256 --runs /tmp/r256 --device ${DEVICE:-cuda} --dry-run 2>&1 | tee "$OUT/estimate-256.txt"
python3 - > "$OUT/run-256.txt" 2>&1 <<PY
import resource, runpy, sys, time
sys.argv = ["generate", "precompute", "--config", "default", "--model", "/tmp/narrow256", "--runs", "/tmp/r256",
            "--device", "${DEVICE:-cuda}", "--quiet"]
start = time.time()
try:
    runpy.run_module("generate", run_name="__main__")
except SystemExit:
    pass
print(f"wall {time.time() - start:.1f} s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
PY
cat "$OUT/run-256.txt"
du -sh /tmp/r256/*/* | tee -a "$OUT/run-256.txt"
python3 -m generate verify --runs /tmp/r256 | tail -1
