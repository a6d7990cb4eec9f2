"""How a figure was made: the "How this was made" card of every figure, one record per (model, experiment).

Every value comes from the run: the manifest (model identity, scheduler, the experiment's config
section, library versions, device, dtype) and run.json (when it finished, and what --config planned
it). Nothing is typed here but the names of the fields. The figure shell (figure-shell.js, provenance.js) shows the
record of the model selected in the figure's model menu.

The command is the one that makes this run again: `python -m generate precompute` with the config it
was planned from, the model, device and dtype the manifest names, and `--only` the experiment. The
config is run.json's `config` (recorded by the precompute since it shows here); a run made before
that has only the argv of the process, which is used when it is a `precompute` command line.
"""

from __future__ import annotations

import shlex

from ..shipped import DEFAULT_CONFIG
from ..toolkit.runs import Run

SCHEDULER_KEYS = ("prediction_type", "beta_schedule", "num_train_timesteps", "timestep_spacing")
ENVIRONMENT_KEYS = ("torch", "diffusers", "device", "dtype")
SHORT_SHA = 12  # characters of a sha256 shown (the full one is in the manifest)


def _config_of(record: dict) -> str | None:
    """The --config a run was planned from: run.json's `config`, else its recorded argv's (a
    `python -m generate precompute` line; its default when it names none), else None."""
    if isinstance(record.get("config"), str) and record["config"]:
        return record["config"]
    command = record.get("command")
    if not isinstance(command, list) or not all(isinstance(a, str) for a in command):
        return None
    args = command[command.index("generate") + 1 :] if "generate" in command else []
    if not args or args[0] != "precompute":
        return None  # e.g. the precompute called from Python (a test, a notebook): argv is not its
    for i, arg in enumerate(args):
        if arg == "--config" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    return DEFAULT_CONFIG  # what the CLI runs without --config


def _model_argument(model: dict) -> str:
    """What --model takes to load this model: a local model's folder, else its name or hub id."""
    return str(model.get("path") or model.get("id") or model["slug"])


def command(run: Run) -> str | None:
    """The shell command that makes this run again (None when the config it came from is unknown)."""
    config = _config_of(run.record)
    if config is None:
        return None
    environment = run.manifest.get("environment") or {}
    args = [
        "python",
        "-m",
        "generate",
        "precompute",
        "--config",
        config,
        "--model",
        _model_argument(run.manifest["model"]),
    ]
    for flag in ("device", "dtype"):
        if environment.get(flag):
            args += [f"--{flag}", str(environment[flag])]
    return shlex.join(args + ["--only", run.experiment])


def provenance(run: Run) -> dict:
    """The card's record: a few hundred bytes, JSON-ready, no field invented when the run lacks it."""
    manifest = run.manifest
    model, scheduler = manifest["model"], manifest.get("scheduler") or {}
    scheduler_config = scheduler.get("config") or {}
    environment = manifest.get("environment") or {}
    identity = {"slug": model["slug"], "id": str(model.get("id", "")), "source": str(model.get("source", ""))}
    for key in ("revision", "commit"):
        if model.get(key):
            identity[key] = str(model[key])
    if model.get("weights_sha256"):
        identity["weights_sha256"] = str(model["weights_sha256"])[:SHORT_SHA]
    record = {
        "experiment": run.experiment,
        "run_key": manifest["run_key"],
        "model": identity,
        "scheduler": dict(
            {"class": str(scheduler.get("class", ""))},
            **{k: scheduler_config[k] for k in SCHEDULER_KEYS if k in scheduler_config},
        ),
        "config": manifest.get("config") or {},
        "environment": {k: str(environment[k]) for k in ENVIRONMENT_KEYS if environment.get(k)},
        "command": command(run),
    }
    finished = run.record.get("finished")
    if isinstance(finished, str) and finished:
        record["finished"] = finished
    return record
