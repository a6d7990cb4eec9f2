"""The frame writer: emit order survives parallel encoding, and queued frames stay within budget."""

from __future__ import annotations

import json
import time

import numpy as np

import generate.precompute.writer as writer_module
from generate.precompute.writer import FrameWriter
from generate.toolkit.contract import Panel

FRAME = Panel("f", ("i",), "f/{i:02d}", "a test frame")


def test_records_keep_emit_order_and_queued_bytes_stay_within_budget(tmp_path, monkeypatch):
    real_encode = writer_module.encode_png

    def uneven_encode(image):  # frames finish out of order: the first ones of each trio are slowest
        time.sleep(0.02 * (2 - int(image[0, 0, 0]) % 3))
        return real_encode(image)

    monkeypatch.setattr(writer_module, "encode_png", uneven_encode)
    frame_bytes = 8 * 8 * 3
    writer = FrameWriter(tmp_path, round_metric=float, workers=3, budget_bytes=4 * frame_bytes)
    unit = writer.unit()
    for i in range(24):
        unit.emit(FRAME, np.full((8, 8, 3), i, np.uint8), {"m": i / 2}, i=i)
    unit.finish(tmp_path / "units" / "u.json", "u")
    writer.close()
    marker = json.loads((tmp_path / "units" / "u.json").read_text())
    assert [r["coords"]["i"] for r in marker["frames"]] == list(range(24))
    assert [r["file"] for r in marker["frames"]] == [f"frames/f/{i:02d}.png" for i in range(24)]
    assert all((tmp_path / r["file"]).is_file() for r in marker["frames"])
    assert frame_bytes < writer.peak_waiting <= 4 * frame_bytes  # frames queued, but never more than the budget


def test_a_failed_write_leaves_no_marker(tmp_path, monkeypatch):
    def broken_encode(image):
        raise OSError("disk full")

    monkeypatch.setattr(writer_module, "encode_png", broken_encode)
    writer = FrameWriter(tmp_path, round_metric=float, workers=2)
    unit = writer.unit()
    unit.emit(FRAME, np.zeros((4, 4, 1), np.uint8), {}, i=0)
    unit.finish(tmp_path / "units" / "u.json", "u")
    try:
        writer.close()
    except OSError as error:
        assert "disk full" in str(error)
    else:
        raise AssertionError("the failed write was swallowed")
    assert not (tmp_path / "units" / "u.json").exists()


def test_tidying_a_run_that_another_process_is_tidying_too(tmp_path, monkeypatch):
    """Two processes may tidy the same finished run at once (precompute/execute.py tidy): one removes
    its claims/ folder while the other is still looking for temp files in it. A folder that vanishes
    between being listed and being read is skipped; every temp file still there is removed, and the
    run's own files are left. (Path.rglob raised FileNotFoundError there: a torchrun launch failed.)"""
    import os

    from generate.atomic import TEMP_SUFFIX, remove_stale_temps

    run = tmp_path / "run"
    (run / "claims").mkdir(parents=True)
    (run / "frames").mkdir()
    (run / "claims" / f".unit.json.x{TEMP_SUFFIX}").write_text("")
    (run / "frames" / f".a.png.y{TEMP_SUFFIX}").write_text("")
    (run / "frames" / "a.png").write_text("kept")
    real = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith("claims"):  # the other process removed it after it was listed
            raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert remove_stale_temps(run) == 1
    assert not (run / "frames" / f".a.png.y{TEMP_SUFFIX}").exists() and (run / "frames" / "a.png").is_file()


def test_the_trajectory_store_clears_what_a_killed_writer_left(tmp_path):
    """A process killed while writing a trajectory leaves its temp file; one killed after writing it
    leaves its claim. Neither belongs to a run folder (a run's tidy does not reach the store): the
    next holder of the claim removes the temp before computing, and a reader removes a dead holder's
    claim beside a written file. (A resumed precompute must leave what an unbroken one does.)"""
    import subprocess
    import sys

    from generate.precompute.claims import Claims
    from generate.precompute.trajectories import TrajectoryStore
    from generate.toolkit.units import Trajectory

    calls = []
    trajectory = Trajectory("t", {}, 1, 1, lambda ctx: calls.append(1) or {"x": np.arange(3)})
    claims = Claims()
    store = TrajectoryStore(tmp_path, lambda t: "0" * 16, claims)
    path = store.path(trajectory)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    orphan = {"host": claims.owner["host"], "pid": int(dead.stdout)}
    try:
        temp = tmp_path / f".{path.name}.killed.tmp"
        temp.write_bytes(b"half")
        path.with_suffix(".claim").write_text(json.dumps(orphan))
        assert store.get(trajectory, None)["x"].tolist() == [0, 1, 2] and calls == [1]
        assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
        path.with_suffix(".claim").write_text(json.dumps(orphan))  # killed after writing the file
        assert store.get(trajectory, None)["x"].tolist() == [0, 1, 2] and calls == [1]
        assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    finally:
        claims.close()
