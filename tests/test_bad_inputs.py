"""The bad-input corpus: every case ends with exit code 2, one exact message, and nothing written.

Each folder of tests/data/bad_inputs holds a config.toml, an expected.txt (the exact message after
"error: "; {dir} is the case's folder, {tiny16} and {short_schedule} are tiny models made here) and
optionally a setup.txt naming a damage applied to a fresh tiny model in {dir}/model.
Set REGENERATE_BAD_INPUTS=1 to rewrite expected.txt from the current messages (then review the diff).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from site_support import REPO, make_tiny_model

from generate.cli import main

CORPUS = Path(__file__).parent / "data" / "bad_inputs"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def _damage(kind: str, case: Path) -> None:
    model = case / "model"
    if kind in ("no_weights", "pickled", "mismatch", "no_scheduler", "bad_json", "bad_prediction"):
        make_tiny_model(model)
    weights = model / "diffusion_pytorch_model.safetensors"
    if kind == "no_weights":
        weights.unlink()
    elif kind == "pickled":
        from safetensors.torch import load_file

        torch.save(load_file(weights), model / "diffusion_pytorch_model.bin")
        weights.unlink()
    elif kind == "mismatch":
        config = json.loads((model / "config.json").read_text())
        config["block_out_channels"] = [16, 32]
        (model / "config.json").write_text(json.dumps(config))
    elif kind == "no_scheduler":
        (model / "scheduler_config.json").unlink()
    elif kind == "bad_json":
        (model / "config.json").write_text("{")
    elif kind == "bad_prediction":
        config = json.loads((model / "scheduler_config.json").read_text())
        config["prediction_type"] = "flow"
        (model / "scheduler_config.json").write_text(json.dumps(config))
    elif kind == "png_8px_rgb":
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(case / "source.png")
    elif kind == "png_16px_grey":
        Image.fromarray(np.zeros((16, 16), np.uint8)).save(case / "source.png")
    elif kind == "text_as_png":
        (case / "source.png").write_text("not a picture")
    else:
        raise AssertionError(f"unknown setup {kind}")


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("bad-input-models")
    short = make_tiny_model(root / "short")
    config = json.loads((short / "scheduler_config.json").read_text())
    config["num_train_timesteps"] = 100
    (short / "scheduler_config.json").write_text(json.dumps(config))
    return {"tiny16": str(make_tiny_model(root / "tiny16")), "short_schedule": str(short)}


@pytest.mark.parametrize("name", CASES)
def test_bad_input_gives_one_exact_message_and_writes_nothing(name, tmp_path, models, capsys):
    case = tmp_path / name
    shutil.copytree(CORPUS / name, case)
    values = dict(models, dir=str(case))
    config = case / "config.toml"
    config.write_text(config.read_text().format(**values))
    if (case / "setup.txt").is_file():
        _damage((case / "setup.txt").read_text().strip(), case)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    code = main(["precompute", "--config", str(config), "--runs", str(tmp_path / "runs"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    message = err.removeprefix("error: ").rstrip("\n")
    for key, value in sorted(values.items(), key=lambda kv: -len(kv[1])):
        message = message.replace(value, "{" + key + "}")
    expected = CORPUS / name / "expected.txt"
    if os.environ.get("REGENERATE_BAD_INPUTS"):
        expected.write_text(message + "\n")
    assert message == expected.read_text().rstrip("\n")
    assert not (tmp_path / "runs").exists()
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_command_line_exit_code_and_no_traceback(tmp_path):
    """The real process: exit 2 and one line; --debug adds the traceback."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[reverse]\nsteps = 0\n")
    command = [sys.executable, "-m", "generate", "precompute", "--config", str(bad), "--runs", str(tmp_path / "r")]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"error: {bad}: reverse.steps = 0: 0 is out of range; allowed: 1 to 1000"
    debug = subprocess.run(
        [sys.executable, "-m", "generate", "--debug", *command[3:]], cwd=REPO, capture_output=True, text=True
    )
    assert debug.returncode == 2 and "Traceback" in debug.stderr
