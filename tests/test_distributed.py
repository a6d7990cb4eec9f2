"""Many processes, one runs folder: torchrun and accelerate launch, faults, claims and balance.

Every launch here is real: `torchrun --nproc_per_node 2` (gloo on the CPU), `accelerate launch`,
plain processes started side by side. Each process runs with one torch thread, as torchrun gives its
workers: on a CPU the thread count is part of what decides the bytes (plan.py), the number of
processes is not.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from site_support import REPO, tiny_threads, tree_bytes

from generate import experiments
from generate.precompute.claims import Claims

pytestmark = pytest.mark.slow  # left out of `make test-fast`


BIN = Path(sys.executable).parent
ONE_THREAD = dict(os.environ, OMP_NUM_THREADS="1")

# Uneven on purpose: a 40-step chain costs 20 times a 2-step one, the triangle's rows differ.
UNEVEN = """
models = ["fashion-32"]
experiments = ["step_counts", "forward_backward", "reverse"]
[run]
max_batch = 2
[step_counts]
steps = [2, 40]
seeds = [0, 1, 2, 3]
[forward_backward]
steps = 8
[reverse]
steps = 6
seeds = [0, 1, 2, 3]
"""


# Every experiment of the smoke grid but live mode's export (1.5 to 2 s of a process, and no part of
# how processes share a runs folder): the same units and claims, each launch lighter.
ONLY = tuple(arg for name in experiments.names() if name != "live" for arg in ("--only", name))


def _precompute(
    runs: Path,
    *launcher: str,
    config: str = "smoke",
    env: dict | None = None,
    quiet: bool = True,
    options: tuple[str, ...] = (),
) -> subprocess.CompletedProcess:
    command = [
        *launcher,
        *([] if launcher else [sys.executable]),
        "-m",
        "generate",
        "precompute",
        "--config",
        config,
        "--runs",
        str(runs),
        *(["--quiet"] if quiet else []),
        *(ONLY if config == "smoke" else ()),
        *options,
    ]
    # Its own session, so that a hung launch is killed with all its workers, not only the launcher.
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env=env or ONE_THREAD,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"{' '.join(command)} hung:\n{err[-3000:]}")
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def _torchrun(n: int) -> list[str]:
    return [str(BIN / "torchrun"), "--standalone", "--nproc_per_node", str(n)]  # standalone: a free port


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The smoke grid in one process with one torch thread, as each launched process has: computed in
    this test process (it has torch loaded already; a process of its own spent some 3 CPU-s on imports)."""
    from generate.precompute import precompute
    from generate.precompute.config import load_config

    runs = tmp_path_factory.mktemp("one-process")
    with tiny_threads():
        precompute(load_config("smoke"), runs, only=list(ONLY[1::2]), progress=False, log=lambda *_: None)
    return runs


def _run_records(runs: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(runs.rglob("run.json"))]


def test_two_processes_equal_one_process_byte_for_byte(tmp_path, reference):
    """`precompute --processes 2` (what `make site` runs on a 2-core CPU, as `--processes auto`): the
    command starts itself again under torchrun's launcher (torch.distributed.run); both processes
    compute, the bytes are one process's, one progress bar and one summary. (`torchrun` itself
    starts the killed-half-way and uneven-grid launches below, `accelerate launch` its own.)"""
    done = _precompute(tmp_path, quiet=False, options=("--processes", "2"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert tree_bytes(tmp_path) == tree_bytes(reference)
    records = _run_records(tmp_path)
    ranks = {p["rank"] for r in records for p in r["processes"]}
    assert ranks == {0, 1}, "both processes computed units"
    # The manifest holds nothing of who ran it; run.json does, and its sums are the grid's.
    assert sum(r["images"] for r in records) == sum(r["images"] for r in _run_records(reference))
    # One progress bar per model, on the main process, over its whole grid (both processes' images).
    total = sum(json.loads(p.read_text())["images"] for p in sorted((tmp_path / "fashion-32").rglob("run.json")))
    # (stderr is a pipe here: the log form, a whole line every few seconds and one at the end)
    bars = [re.match(r"fashion-32: ([\d,]+) of ([\d,]+) images", line) for line in done.stderr.splitlines()]
    counts = [(int(m[1].replace(",", "")), int(m[2].replace(",", ""))) for m in bars if m]
    assert counts and all(of == total for _, of in counts), counts[-3:]
    assert counts[-1] == (total, total) and "\r" not in done.stderr
    assert "process 0 on" in done.stdout and "process 1 on" in done.stdout
    # the main process reports, once
    assert [line.startswith("done: ") for line in done.stdout.splitlines()].count(True) == 1


def test_processes_option_fails_with_the_processes_own_message(tmp_path):
    """A bad model under --processes 2: the one-line error once (both processes find it; the launcher
    tells each distinct message once, whichever process stopped first), then a summary; exit 2, no
    traceback and no runs folder."""
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "generate", "precompute", "--config", "smoke", "--runs", str(runs)]
    done = subprocess.run(
        [*command, "--processes", "2", "--model", str(tmp_path / "nowhere"), "--quiet"],
        cwd=REPO,
        env=ONE_THREAD,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("error: ") for line in lines), lines
    assert f"--model {tmp_path / 'nowhere'}: not a shipped model" in lines[0]
    assert lines[-1].startswith("error: the 2 precompute processes stopped (exit codes [2")
    assert not runs.exists()
    for value in ("0", "two"):
        refused = subprocess.run([*command, "--processes", value], cwd=REPO, capture_output=True, text=True)
        assert refused.returncode == 2 and "argument --processes" in refused.stderr
        assert "expected a whole number from 1, or auto" in refused.stderr


def test_accelerate_launch_equals_one_process(tmp_path, reference):
    # `--multi_gpu` is accelerate's torchrun launcher; on a machine without GPUs it runs CPU processes.
    launcher = [
        str(BIN / "accelerate"),
        "launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
    ]
    done = _precompute(tmp_path, *launcher)
    assert done.returncode == 0, done.stderr[-3000:]
    assert tree_bytes(tmp_path) == tree_bytes(reference)
    assert {p["rank"] for r in _run_records(tmp_path) for p in r["processes"]} == {0, 1}


def test_a_process_killed_half_way_then_resumed_by_two_independent_launches_equals_it(tmp_path, reference):
    """torchrun's rank 1 killed half way; then two plain processes side by side (no process group, as
    on two machines) finish the one runs folder: the bytes of one uninterrupted process, each missing
    unit computed once, the finished units' frames left as they were."""
    # At its 60th write: the smoke grid writes about 330 files, so rank 1 gets there, and no unit
    # writes as many as 60, so by then some unit is finished whatever the other process's pace (at
    # the 30th, a machine busy with other tests could kill it before any unit was done).
    killed = _precompute(
        tmp_path, *_torchrun(2), env=dict(ONE_THREAD, NTI_CRASH_TEST_KILL_RANK="1", NTI_CRASH_TEST_KILL_AT_WRITE="60")
    )
    assert killed.returncode != 0, "rank 1 was to die at its 60th write"
    markers = list(tmp_path.rglob("units/*.json"))
    assert markers or list(tmp_path.rglob("manifest.json")), "the finished units stay on disk"
    assert list(tmp_path.rglob("*.claim")), "the dead processes' claims are left behind"
    records = [(path.parent.parent, json.loads(path.read_text())["frames"]) for path in markers]
    records += [(path.parent, json.loads(path.read_text())["frames"]) for path in tmp_path.rglob("manifest.json")]
    finished = {run / r["file"]: (run / r["file"]).stat().st_ino for run, frames in records for r in frames}
    command = [sys.executable, "-m", "generate", "precompute", "--config", "smoke", "--runs", str(tmp_path), "--quiet"]
    launches = [
        subprocess.Popen([*command, *ONLY], cwd=REPO, env=ONE_THREAD, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for process in launches:
        _, err = process.communicate(timeout=180)
        assert process.returncode == 0, err.decode()[-3000:]
    assert tree_bytes(tmp_path) == tree_bytes(reference)
    assert not list(tmp_path.rglob("*.claim")) and not list(tmp_path.rglob("*.tmp"))
    # Only what was missing was computed: the finished units' frames are the very same files.
    assert finished and all(frame.stat().st_ino == inode for frame, inode in finished.items())
    run_records = _run_records(tmp_path)
    assert sum(r["units"]["computed"] + r["units"]["reused"] for r in run_records) == sum(
        r["units"]["total"] for r in run_records
    ), "no unit was computed twice"


def test_an_uneven_grid_leaves_no_process_idle_longer_than_one_unit(tmp_path):
    config = tmp_path / "uneven.toml"
    config.write_text(UNEVEN)
    done = _precompute(tmp_path / "runs", *_torchrun(2), config=str(config))
    assert done.returncode == 0, done.stderr[-3000:]
    timeline = [u for r in _run_records(tmp_path / "runs") for u in r["timeline"]]
    ends = {}
    for u in timeline:
        ends[u["rank"]] = max(ends.get(u["rank"], 0.0), u["started_ns"] / 1e9 + u["seconds"])
    assert set(ends) == {0, 1}
    longest = max(u["seconds"] for u in timeline)
    # List scheduling, costliest first: when one process runs out of units, the other is inside its
    # last one. (0.5 s: the marker of that last unit, written after its frames, and process start.)
    assert max(ends.values()) - min(ends.values()) <= longest + 0.5, (ends, longest)
    seconds = {rank: sum(u["seconds"] for u in timeline if u["rank"] == rank) for rank in ends}
    assert min(seconds.values()) > 0.25 * max(seconds.values()), seconds


def test_claims_are_exclusive_and_a_dead_holder_does_not_keep_them(tmp_path):
    claim = tmp_path / "claims" / "u.claim"
    mine, theirs = Claims(heartbeat=0.05), Claims(stale=0.3)
    try:
        assert mine.take(claim)
        assert not theirs.take(claim)
        time.sleep(0.5)
        assert not theirs.take(claim), "a claim whose holder beats is never stale"
        mine.release(claim)
        assert theirs.take(claim)
        theirs.release(claim)
        # A holder on this host whose process is gone: taken over at once.
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        claim.write_text(json.dumps({"host": mine.owner["host"], "pid": int(dead.stdout)}))
        assert theirs.take(claim)
        theirs.release(claim)
        # A holder on another machine that stopped touching its claim: taken over after `stale`.
        claim.write_text(json.dumps({"host": "elsewhere", "pid": 1}))
        assert not theirs.take(claim)
        time.sleep(0.4)
        assert theirs.take(claim)
        assert json.loads(claim.read_text())["pid"] == os.getpid()
    finally:
        mine.close()
        theirs.close()
