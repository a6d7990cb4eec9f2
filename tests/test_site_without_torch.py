"""The site stage needs no torch: `site` and `verify` run where torch and diffusers cannot be imported
(a static-host build image or a plain CI runner with a runs folder made elsewhere), and the
precompute, which does need them, says so in one line instead of a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from site_support import lesson_paths

REPO = Path(__file__).resolve().parents[1]
# Runs `python -m generate ARGS` with torch, diffusers and safetensors made unimportable.
WITHOUT_TORCH = """
import importlib.abc, runpy, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "diffusers", "safetensors"):
            raise ModuleNotFoundError(f"No module named {name!r} (made unimportable by the test)", name=name)
sys.meta_path.insert(0, Refuse())
for name in [m for m in sys.modules if m.split(".")[0] in ("torch", "diffusers", "safetensors")]:
    del sys.modules[name]
sys.argv = ["generate", *sys.argv[1:]]
runpy.run_module("generate", run_name="__main__")
"""


def run_without_torch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH, *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )


def test_site_builds_from_runs_with_torch_unimportable(build, tmp_path):
    done = run_without_torch("site", "--runs", str(build["runs"]), "--out", str(tmp_path / "site"))
    assert done.returncode == 0, done.stdout + done.stderr
    for page in ["index.html"] + [f"{path}index.html" for path in lesson_paths()]:
        assert (tmp_path / "site" / page).is_file(), page
    # the same pages as the build with torch installed (the facts and the figure data do not depend on it)
    for data in ("reverse", "step_counts", "forward_backward", "patch_noise", "mix_noise"):
        assert (tmp_path / "site/generated" / f"{data}.json").read_bytes() == (
            build["site"] / "generated" / f"{data}.json"
        ).read_bytes(), data
    # progress: runs read, sheets per figure, pages, mkdocs
    assert "read " in done.stdout and "sheets" in done.stdout and "pages written" in done.stdout


def test_verify_runs_with_torch_unimportable(build):
    done = run_without_torch("verify", "--runs", str(build["runs"]))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 problem(s)" in done.stdout


def test_precompute_without_torch_says_what_to_install(tmp_path):
    done = run_without_torch("precompute", "--config", "smoke", "--runs", str(tmp_path / "runs"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "needs torch" in done.stderr and "pip install -e '.[precompute]'" in done.stderr, done.stderr
    assert not (tmp_path / "runs").exists()
