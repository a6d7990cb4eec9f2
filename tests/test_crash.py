"""Crash safety: real processes killed with SIGKILL, then finished; the runs folder stays confined."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from site_support import REPO, SMALL, tiny_threads, tree_bytes

from generate.errors import UsageError

# The N-th file write of each restarted process: a kill at the first write, in the first units, mid-grid
# and late (the last may find the grid nearly done, so four of the five must land).
KILL_POINTS = [1, 9, 40, 101, 230]


def _run(config: Path, runs: Path, kill_at: int | None) -> subprocess.CompletedProcess:
    # one torch thread, as the uninterrupted run below has: the bytes depend on the threads on a CPU
    env = dict(os.environ, OMP_NUM_THREADS="1", NTI_CRASH_TEST_KILL_AT_WRITE=str(kill_at or 0))
    return subprocess.run(
        [sys.executable, "-m", "generate", "precompute", "--config", str(config), "--runs", str(runs), "--quiet"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
def test_killed_many_times_then_finished_equals_an_uninterrupted_run(tmp_path, tiny_rgb):
    config = tmp_path / "config.toml"
    config.write_text(SMALL.format(model=tiny_rgb, max_batch=8, reverse_scheduler="ddpm"))
    from generate.precompute import precompute
    from generate.precompute.config import load_config

    # The uninterrupted run in this test process (with one torch thread, as the killed ones): the same
    # bytes without a process's imports (some 3 CPU-s).
    with tiny_threads():
        precompute(load_config(str(config)), tmp_path / "reference", progress=False, log=lambda *_: None)
    killed = 0
    for point in KILL_POINTS:
        result = _run(config, tmp_path / "runs", point)
        if result.returncode == -9:
            killed += 1
            # Whatever a reader sees mid-run is complete: no manifest lists a frame that is not whole.
            for manifest in (tmp_path / "runs").rglob("manifest.json"):
                assert manifest.read_text().rstrip().endswith("}")
    assert killed >= 4
    final = _run(config, tmp_path / "runs", None)
    assert final.returncode == 0, final.stderr
    assert tree_bytes(tmp_path / "runs") == tree_bytes(tmp_path / "reference")
    assert not list((tmp_path / "runs").rglob("*.tmp"))


def test_run_folders_may_not_leave_the_runs_folder(tmp_path, tiny_rgb):
    from generate.precompute import precompute
    from generate.precompute.config import load_config

    outside = tmp_path / "outside"
    outside.mkdir()
    runs = tmp_path / "runs"
    runs.mkdir()
    config = tmp_path / "c.toml"
    config.write_text(f'models = ["{tiny_rgb}"]\nexperiments = ["reverse"]\n[reverse]\nsteps = 2\nseeds = [0]\n')
    from generate.core.loading import load_model

    (runs / load_model(str(tiny_rgb)).slug).symlink_to(outside)
    with pytest.raises(UsageError, match="resolves outside the runs folder"):
        precompute(load_config(str(config)), runs, progress=False, log=lambda *a: None)
    assert list(outside.iterdir()) == []


def test_verify_reports_every_changed_frame(tmp_path, tiny_rgb):
    config = tmp_path / "config.toml"
    config.write_text(f'models = ["{tiny_rgb}"]\nexperiments = ["reverse"]\n[reverse]\nsteps = 2\nseeds = [0]\n')
    assert _run(config, tmp_path / "runs", None).returncode == 0
    frames = sorted((tmp_path / "runs").rglob("*.png"))
    frames[0].write_bytes(frames[0].read_bytes()[:-10])
    frames[1].unlink()
    result = subprocess.run(
        [sys.executable, "-m", "generate", "verify", "--runs", str(tmp_path / "runs")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert f"{frames[0]}: content does not match" in result.stdout and f"{frames[1]}: missing" in result.stdout
    assert "1 manifests checked, 2 problem(s)" in result.stdout


def test_inputs_named_by_the_author_are_only_read(tmp_path, tiny_rgb):
    """The model folder and the source image are read, never written (not even touched)."""
    import numpy as np
    from PIL import Image

    from generate.precompute import precompute
    from generate.precompute.config import load_config

    source = tmp_path / "source.png"
    Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(source)
    watched = [source, *sorted(p for p in Path(tiny_rgb).rglob("*") if p.is_file())]
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in watched}
    config = tmp_path / "c.toml"
    config.write_text(
        f'models = ["{tiny_rgb}"]\nexperiments = ["forward_backward"]\n'
        '[forward_backward]\nsteps = 2\nsource = "source.png"\n'
    )
    precompute(load_config(str(config)), tmp_path / "runs", progress=False, log=lambda *a: None)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in watched} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml", "runs", "source.png"]
