"""`python -m generate precompute`: config -> runs. Every experiment of every model, batched.

One process, or many: under `torchrun` or `accelerate launch` every process plans the same units
(the plan depends on the config, never on the number of processes), then takes units one at a
time, the costliest first, through claims in the runs folder (claims.py). A process that runs
out of units to claim waits for the others' last units, so none idles for longer than one unit
while work is left (list scheduling). The manifest of an experiment is written by whichever
process sees its last unit done. Independent launches on several machines sharing one runs
folder cooperate the same way.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from .. import experiments
from ..core.loading import check_spec, load_model
from ..errors import UsageError
from .claims import Claims, claim_file
from .config import Config
from .context import Context
from .estimate import Probe, cost, probe, report, unit_seconds
from .execute import compute_unit, finish_run, tidy
from .plan import ExperimentRun, Unit, prepare, round_metric, trajectory_hash
from .trajectories import TrajectoryStore
from .world import World, join, leave
from .writer import FrameWriter

LOG_INTERVAL = 10.0  # seconds between progress lines when stderr is not a terminal

POLL = 0.25  # seconds between looks at the runs folder while other processes hold the last units


def precompute(
    config: Config,
    runs: Path,
    models: list[str] | None = None,
    only: list[str] | None = None,
    device: str | None = None,
    dtype: str | None = None,
    allow_pickle: bool = False,
    progress: bool = True,
    log=print,
    dry_run: bool = False,
) -> list[dict]:
    """Run the missing experiments; return one timing record per experiment (cached ones included).

    Before the first model call it prints what the missing units need and how long they should take
    here (estimate.py); `dry_run` stops there and returns those estimates instead."""
    names = only or config.experiments
    for name in names:
        if name not in experiments.names():
            raise UsageError(f"--only {name!r}: unknown experiment; allowed: {', '.join(experiments.names())}")

    def where(spec: str) -> str:
        """Where a model spec came from, for its messages: --model, or the config's list that names it."""
        if models:
            return f"--model {spec}"
        listed = (
            "models"
            if spec in config.models
            else next(f"{name}.models" for name, own in config.section_models.items() if spec in own)
        )
        return f"{config.source}: {listed} entry {spec!r}"

    for spec in models or config.all_models():  # before the group forms: a bad name stops every process alike
        check_spec(spec, where(spec))
    world = join()
    say = log if world.main else (lambda line: None)
    results, clean = [], False
    try:
        for spec in models or config.all_models():
            # `--model` runs every experiment on its models; a config runs each on its own list
            here = names if models else [name for name in names if spec in config.models_for(name)]
            if not here:
                continue
            loaded_at = time.time()
            model = load_model(
                spec,
                world.device(device or config.run.device),
                dtype or config.run.dtype,
                allow_pickle=allow_pickle,
                where=where(spec),
            )
            say(
                f"model {model.label}: {model.channels} channel(s), {model.sample_size} px, "
                f"{model.scheduler_config.get('prediction_type', 'epsilon')}, on {model.device} "
                f"{str(model.dtype).removeprefix('torch.')} (loaded in {time.time() - loaded_at:.1f} s)"
                + (f", {world.size} processes" if world.grouped else "")
            )
            here = _runnable(here, model, spec, config, only, models, say)
            if not here:
                continue
            if config.run.compile:
                model.unet = torch.compile(model.unet)
            # Plan (and so validate against the model) before anything is written.
            runs_of = [prepare(experiments.get(name), config, model, runs) for name in here]
            store = TrajectoryStore(runs / model.slug / ".trajectories", lambda t: trajectory_hash(t, config, model))
            planned, found = _estimate(runs_of, config, model, say, world, store)
            if dry_run:
                results += [dict(vars(c), experiment=c.name, model=model.slug, cached=False) for c in planned]
                continue
            results += _execute_all(runs_of, config, model, progress, say, world, found, store)
        clean = True
    finally:
        leave(world, wait=clean)
    return results


def _runnable(names: list[str], model, spec: str, config: Config, only, models, say) -> list[str]:
    """The experiments this model can run. One that cannot (guidance on a model without classes) is
    skipped with a line where `--model` put it there by running everything on one model; named for
    this model by `--only` or by its section's own `models`, it is an error naming what to change."""
    runnable = []
    for name in names:
        check = experiments.get(name).cannot_run
        why = check(model) if check else None
        if why is None:
            runnable.append(name)
        elif only and name in only:
            raise UsageError(f"--only {name} on {model.label}: {why}")
        elif not models and spec in config.section_models.get(name, []):
            raise UsageError(f"{config.source}: {name}.models lists {spec!r}, but {why}")
        else:
            say(f"{name}: skipped on {model.label}: {why}")
    return runnable


def with_shared_work(todo: list[tuple[str, list]], store: TrajectoryStore) -> list[tuple[str, list]]:
    """Each experiment's missing units plus the shared trajectories they read that are not stored
    yet, each counted once: under the first experiment (in run order) that reads it."""
    counted, result = set(), []
    for name, units in todo:
        shared = []
        for trajectory in (t for unit in units for t in unit.trajectories):
            path = store.path(trajectory)
            if path not in counted and not path.is_file():
                counted.add(path)
                shared.append(
                    Unit(
                        key=f"trajectory {trajectory.key}",
                        images=trajectory.images,
                        calls=trajectory.calls,
                        compute=None,
                    )
                )
        result.append((name, units + shared))
    return result


def shared_seconds(unit: Unit, found: Probe) -> float:
    """The model work of the shared trajectories a unit reads: whichever reader comes first computes
    them, so for the order of the units (costliest first) they count with every reader."""
    return sum(t.calls * found.per_call + t.images * found.per_image for t in unit.trajectories)


def _estimate(
    runs_of: list, config: Config, model, log, world: World, store: TrajectoryStore
) -> tuple[list, Probe | None]:
    """Probe the model and log the cost of what is missing (nothing at all when everything is done)."""
    todo = with_shared_work([(run.name, run.missing_units()) for run in runs_of], store)
    if not any(units for _, units in todo):
        return [], None
    found = probe(model, config.run.max_batch)
    costs = [cost(name, units, found) for name, units in todo if units]
    for line in report(model, costs, found, processes=world.size):
        log(line)
    return costs, found


class LogLines:
    """Progress for a log: one line every LOG_INTERVAL seconds (and one at the end), with the rate and
    the time left; the part of tqdm's interface the precompute uses (update, n, write, close, disable)."""

    def __init__(self, total: int, desc: str, disable: bool = False, interval: float = LOG_INTERVAL, out=None):
        self.total, self.desc, self.disable, self.interval = total, desc, disable, interval
        self.out = out or sys.stderr
        self.n, self.started = 0, time.monotonic()
        self.last = self.started

    def _line(self, now: float) -> str:
        rate = self.n / max(now - self.started, 1e-9)
        left = (self.total - self.n) / rate if rate > 0 else float("nan")
        share = 100 * self.n / self.total if self.total else 100.0
        eta = f", about {left / 60:.1f} min left" if self.n < self.total and left == left else ""
        return f"{self.desc}: {self.n:,} of {self.total:,} images ({share:.0f} %), {rate:.0f} img/s{eta}"

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if not self.disable and now - self.last >= self.interval:
            self.last = now
            self.write(self._line(now))

    def write(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def close(self) -> None:
        if not self.disable:
            self.write(self._line(time.monotonic()) + f" in {time.monotonic() - self.started:.0f} s")
            self.disable = True


def _execute_all(
    runs_of: list[ExperimentRun],
    config: Config,
    model,
    progress: bool,
    log,
    world: World,
    found: Probe | None,
    store: TrajectoryStore,
) -> list[dict]:
    """Take units until every run of this model has its manifest; one progress bar for all processes."""
    todo = [run for run in runs_of if not run.cached]
    pending = [(run, unit) for run in todo for unit in run.missing_units()]
    # The costliest first, so the last units to finish are short ones (and processes end together).
    if found:
        pending.sort(key=lambda item: -unit_seconds(item[1], found, extra=False) - shared_seconds(item[1], found))
    counter = f"images/{model.slug}"
    # A terminal gets a live bar; a log (CI, `make site > log`) a whole line every LOG_INTERVAL seconds
    # (tqdm would write one carriage-return update per refresh, a log of one endless line).
    total = sum(unit.images for _, units in with_shared_work([("", [u for _, u in pending])], store) for unit in units)
    if world.grouped:
        # Every process counts the grid before any computes a unit of it (a collective, so a barrier
        # too): a process that started early would otherwise have stored shared trajectories that a
        # later count leaves out, and the bar would end past its total (173 of 130 images, seen once).
        total = max(record["total"] for record in world.gather({"total": total}))
    shown = progress and world.main and bool(pending)
    if sys.stderr.isatty():
        bar = tqdm(total=total, unit="img", dynamic_ncols=True, desc=model.slug, disable=not shown, mininterval=0.1)
    else:
        bar = LogLines(total, model.slug, disable=not shown)

    def on_calls(images: int) -> None:
        bar.update(world.add(counter, images) - bar.n if world.grouped else images)

    context = Context(
        model=model, max_batch=config.run.max_batch, on_calls=on_calls, call_batch=found.call_batch if found else 0
    )
    writer = FrameWriter(None, round_metric)
    claims = Claims(rank=world.rank)
    store.claims, context.trajectories = claims, store
    mine = {
        "rank": world.rank,
        "host": world.host,
        "device": str(model.device),
        "units": 0,
        "model_calls": 0,
        "images": 0,
        "seconds": 0.0,
        "waited": 0.0,
    }
    announced: set[str] = set()
    say = bar.write if not bar.disable else log
    for run in runs_of:
        if run.cached:
            tidy(run.run_dir)
            say(f"  {run.name}: up to date ({run.run_dir})")
    try:
        while True:
            pending = _still_missing(pending)
            for run in todo:
                finish_run(run, model, claims)
                if run.finished() and run.name not in announced:
                    announced.add(run.name)
                    _announce(run, say)
            if all(run.finished() for run in todo):
                break
            took = _take_one(
                pending,
                claims,
                lambda run, unit, claim: compute_unit(
                    run, unit, context, writer, world.rank, on_written=lambda: claims.release(claim)
                ),
            )
            if took is None:
                writer.raise_first_error()
                waited = time.perf_counter()
                time.sleep(POLL)
                on_calls(0)
                mine["waited"] += time.perf_counter() - waited
                continue
            run, unit, work = took
            if work.get("reused"):
                on_calls(unit.images)
            mine["units"] += 1
            mine["model_calls"] += work["calls"]
            mine["images"] += work["images"]
            mine["seconds"] += work["seconds"]
        writer.close()
        on_calls(0)  # the other processes' last images: the bar ends on the whole grid's count
    finally:
        claims.close()
        bar.close()
    _summarize(world, mine, log)
    return [_result(run, model) for run in runs_of]


def _still_missing(pending: list) -> list:
    """Drop the units whose markers appeared (from any process), in one listing per run."""
    missing: dict[int, set[str]] = {}
    for run, _ in pending:
        if id(run) not in missing:
            missing[id(run)] = {u.key for u in run.missing_units()}
    return [(run, unit) for run, unit in pending if unit.key in missing[id(run)]]


def _take_one(pending: list, claims: Claims, compute):
    """Claim the first unit that is free and ready, compute it; None if there was none."""
    for run, unit in pending:
        if unit.reads_frames and any(u.key != unit.key for u in run.missing_units()):
            continue  # it reads the frames of the run's other units: wait until they are all on disk
        claim = claim_file(run.run_dir, unit.key)
        if not claims.take(claim):
            continue
        if unit.key not in {
            u.key for u in run.missing_units()
        }:  # done by another process between our look and our claim
            claims.release(claim)
            if run.finished():
                tidy(run.run_dir)  # our late claim re-made its claims/ folder after the manifest's tidy
            continue
        try:
            return run, unit, compute(run, unit, claim)
        except BaseException:
            claims.release(claim)
            raise
    return None


def _announce(run: ExperimentRun, say) -> None:
    record = json.loads((run.run_dir / "run.json").read_text())
    say(
        f"  {run.name}: {record['model_calls']} model calls, {record['images']} images "
        f"in {record['seconds']:.1f} s of compute -> {run.run_dir}"
    )


def _summarize(world: World, mine: dict, log) -> None:
    """One line per process on the main one, at the end: who did how much, and how long it waited."""
    records = world.gather(dict(mine, seconds=round(mine["seconds"], 3), waited=round(mine["waited"], 3)))
    if not world.grouped:
        return
    for r in records:
        log(
            f"  process {r['rank']} on {r['host']} ({r['device']}): {r['units']} units, {r['model_calls']} "
            f"model calls, {r['images']} images, {r['seconds']:.1f} s computing, {r['waited']:.1f} s waiting"
        )


def _result(run: ExperimentRun, model) -> dict:
    if run.cached:
        return {
            "experiment": run.name,
            "model": model.slug,
            "cached": True,
            "model_calls": 0,
            "images": 0,
            "seconds": 0.0,
            "run_dir": str(run.run_dir),
        }
    record = json.loads((run.run_dir / "run.json").read_text())
    return dict(record, model=model.slug, cached=False, run_dir=str(run.run_dir))
