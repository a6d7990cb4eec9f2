"""The arithmetic behind the reported benchmark figures (the benchmarks themselves are not tests)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from gpu import peak_for  # noqa: E402
from run import efficiency  # noqa: E402

pytestmark = pytest.mark.slow  # left out of `make test-fast`


def test_efficiency_against_best_batch_and_same_calls():
    throughput = {
        b: {"images_per_s": ips, "calls_per_s": ips / b}
        for b, ips in {1: 50.0, 2: 80.0, 4: 100.0, 8: 160.0, 16: 200.0, 32: 190.0, 64: 180.0, 128: 150.0}.items()
    }
    records = {
        "chain": {"seconds": 10.0, "model_calls": 400, "images": 400, "images_per_call": {"1": 400}},
        "grid": {"seconds": 5.0, "model_calls": 50, "images": 800, "images_per_call": {"16": 50}},
    }
    table = efficiency(records, throughput)
    assert table["chain"]["ceiling_seconds"] == 2.0  # 400 images at the best 200 images/s
    assert table["chain"]["same_calls_seconds"] == 8.0  # 400 calls at 50 calls/s
    assert (table["chain"]["efficiency"], table["chain"]["efficiency_vs_same_calls"]) == (0.2, 0.8)
    assert table["grid"]["same_calls_seconds"] == 4.0  # 50 calls of 16 at 12.5 calls/s
    assert table["all"]["seconds"] == 15.0 and table["all"]["efficiency"] == pytest.approx(6 / 15, abs=1e-3)


def test_peak_flops_by_device_name_and_dtype():
    assert peak_for("NVIDIA H100 80GB HBM3", "bfloat16") == 989
    assert peak_for("NVIDIA H100 PCIe", "float16") == 756
    assert peak_for("AMD EPYC", "float32") is None
