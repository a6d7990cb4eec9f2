"""Shared fixtures: tiny random diffusion models built in code (no downloads)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import torch
from diffusers import DDPMScheduler, UNet2DModel

REPO = Path(__file__).resolve().parents[1]


def make_tiny_model(folder: Path, channels: int = 3, prediction_type: str = "epsilon", size: int = 16,
                    layout: str = "flat", beta_schedule: str = "linear", seed: int = 0) -> Path:
    """Save a 16-px two-level UNet2DModel + DDPMScheduler in the flat or the pipeline layout."""
    torch.manual_seed(seed)
    unet = UNet2DModel(sample_size=size, in_channels=channels, out_channels=channels,
                       block_out_channels=(8, 16), layers_per_block=1,
                       down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                       up_block_types=("AttnUpBlock2D", "UpBlock2D"), norm_num_groups=4, attention_head_dim=8)
    scheduler = DDPMScheduler(num_train_timesteps=1000, prediction_type=prediction_type,
                              beta_schedule=beta_schedule)
    if layout == "flat":
        unet.save_pretrained(folder)
        scheduler.save_pretrained(folder)
    else:
        unet.save_pretrained(folder / "unet")
        scheduler.save_pretrained(folder / "scheduler")
    return folder


@pytest.fixture(scope="session")
def tiny_rgb(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny-rgb"), channels=3)


@pytest.fixture(scope="session")
def tiny_grey_v(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("tiny-grey-v"), channels=1, prediction_type="v_prediction",
                           beta_schedule="squaredcos_cap_v2", layout="pipeline")


def _git_status() -> list[str] | None:
    """`git status --porcelain` of the repository (untracked files listed one by one), or None outside git."""
    done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO,
                          capture_output=True, text=True)
    return done.stdout.splitlines() if done.returncode == 0 else None


@pytest.fixture(scope="session", autouse=True)
def the_tests_leave_the_sources_clean():
    """Tests and builds never write into the sources: whatever `git status` shows after the session
    that it did not show before was written by a test (or a build it ran), and fails the run."""
    before = _git_status()
    yield
    after = _git_status()
    if before is not None and after is not None:
        written = sorted(set(after) - set(before))
        assert not written, f"the test session wrote into the repository: {written}"
