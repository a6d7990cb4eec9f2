"""Plan an experiment before anything is written: its units, their hashes, and where its run goes.

An experiment's plan is a list of *units*: groups of grid cells that go through the reverse process
together (one batch that shares every timestep). A unit is the grain of resumption and of reuse; its
hash names everything that decides the bytes of its frames, and the run key names the whole run
(the folder RUNS/<model>/<experiment>/<key>/).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..atomic import dumps_json
from ..errors import UsageError
from ..manifest import SCHEMA
from ..spacing import sampling_config
from ..toolkit.contract import Experiment
from ..toolkit.png import PNG_SETTINGS
from ..toolkit.units import Plan, Trajectory, Unit, pack, round_metric  # noqa: F401  (the precompute's names for them)
from .config import Config, check_against_model, config_argument, section_for_model


def _hash(value: Any) -> str:
    return hashlib.sha256(dumps_json(value).encode()).hexdigest()


def _computation(config: Config, model) -> dict:
    """What, besides the grid itself, decides the bytes of a frame.

    Not the number of processes (units are the same however many share them), but on a CPU the
    threads of each process: oneDNN splits some convolutions' sums by thread, so 1 and 2 threads
    differ by about 1e-6, which flips a PNG level now and then (measured: 1 frame of the smoke
    grid's 110). torchrun gives each worker one thread unless OMP_NUM_THREADS says otherwise."""
    import torch

    threads = {"cpu_threads": torch.get_num_threads()} if model.device.type == "cpu" else {}
    return {
        "schema": SCHEMA,
        "model": model.identity,
        "scheduler_base": model.scheduler_config,
        "sampling": sampling_config({}),
        "device": model.device.type,
        "dtype": str(model.dtype).removeprefix("torch."),
        "max_batch": config.run.max_batch,
        "compile": config.run.compile,
        "png": PNG_SETTINGS,
        "memory_format": "channels_last",
        **threads,
    }


def run_key(experiment: str, config: Config, model, revision: int = 0, section: Any = None) -> str:
    """`revision`: the experiment's declared revision, raised when its code makes other frame sets
    from the same config (0 leaves the keys of earlier runs as they were). Unit hashes do not take
    it: a unit whose frames change says so in its own content, and unchanged units are reused."""
    section = section if section is not None else config.experiment(experiment)
    return _hash(
        dict(
            _computation(config, model),
            experiment=experiment,
            config=asdict(section),
            **({"revision": revision} if revision else {}),
        )
    )[:12]


def trajectory_hash(trajectory: Trajectory, config: Config, model) -> str:
    """What decides a shared trajectory's arrays: its content and the computation (not the experiment)."""
    return _hash(dict(_computation(config, model), trajectory=trajectory.key, content=trajectory.content))


def unit_hash(experiment: str, unit: Unit, config: Config, model) -> str:
    return _hash(dict(_computation(config, model), experiment=experiment, unit=unit.key, content=unit.content))


@dataclass
class ExperimentRun:
    name: str
    section: Any  # the experiment's config section, lengths in pixels for this model
    run_dir: Path
    units: list[Unit]
    describe: dict
    scheduler: dict
    key: str
    cached: bool = False
    config_argument: str = ""  # what --config takes to plan this run again (run.json; not in the key)

    def marker(self, unit: Unit) -> Path:
        """The file that says a unit's frames are all on disk (and lists them)."""
        return self.run_dir / "units" / f"{unit.key}.json"

    def finished(self) -> bool:
        """Its manifest is written (by this process or any other): nothing left to do."""
        return (self.run_dir / "manifest.json").is_file()

    def missing_units(self) -> list[Unit]:
        """Units still to compute: none for a finished run, those without a marker otherwise.
        One listing of the markers folder, not a stat per unit (grids may have thousands)."""
        if self.cached:
            return []
        try:
            done = {name[:-5] for name in os.listdir(self.run_dir / "units") if name.endswith(".json")}
        except FileNotFoundError:
            done = set()
        # A finished run's markers are removed after its manifest is written: look at it last.
        missing = [u for u in self.units if u.key not in done]
        return [] if missing and self.finished() else missing


def prepare(experiment: Experiment, config: Config, model, runs: Path) -> ExperimentRun:
    """Validate against the model, plan the units and hash them; nothing is written."""
    name = experiment.name
    section = section_for_model(config, name, model.sample_size)
    check_against_model(
        config, name, model.sample_size, int(model.scheduler_config.get("num_train_timesteps", 1000)), section
    )
    key = run_key(name, config, model, experiment.revision, section)
    run_dir = runs / model.slug / name / key
    root = runs.resolve()
    if runs.exists() and root not in run_dir.resolve().parents:
        raise UsageError(
            f"{run_dir}: resolves outside the runs folder {root} (a symlink?); the precompute writes only inside --runs"
        )
    plan = experiment.planner()(section, model, config.run.max_batch, config.source)
    for unit in plan.units:
        unit.hash = unit_hash(name, unit, config, model)
    # The experiment's sampler; one that compares several (samplers) records the model's own scheduler.
    scheduler = model.scheduler(getattr(section, "scheduler", "ddpm"))
    return ExperimentRun(
        name=name,
        section=section,
        run_dir=run_dir,
        units=plan.units,
        describe=plan.describe,
        scheduler={
            "class": type(scheduler).__name__,
            "config": {k: v for k, v in dict(scheduler.config).items() if not k.startswith("_")},
        },
        key=key,
        cached=(run_dir / "manifest.json").is_file(),
        config_argument=config_argument(config),
    )
