"""`python -m generate precompute`: config -> runs. Every experiment of every model, batched."""

from __future__ import annotations

import time
from pathlib import Path

import torch
from tqdm import tqdm

from .. import experiments
from ..core.loading import load_model
from ..errors import UsageError
from .config import Config
from .context import Context
from .estimate import Probe, cost, probe, report
from .execute import execute
from .lock import RunsLock
from .plan import prepare


def precompute(config: Config, runs: Path, models: list[str] | None = None, only: list[str] | None = None,
               device: str | None = None, dtype: str | None = None, allow_pickle: bool = False,
               progress: bool = True, log=print, dry_run: bool = False) -> list[dict]:
    """Run the missing experiments; return one timing record per experiment (cached ones included).

    Before the first model call it prints what the missing units need and how long they should take
    here (estimate.py); `dry_run` stops there and returns those estimates instead."""
    names = only or config.experiments
    for name in names:
        if name not in experiments.names():
            raise UsageError(f"--only {name!r}: unknown experiment; allowed: {', '.join(experiments.names())}")
    results = []
    for spec in models or config.models:
        loaded_at = time.time()
        where = f"--model {spec}" if models else f"{config.source}: models entry {spec!r}"
        model = load_model(spec, device or config.run.device, dtype or config.run.dtype,
                           allow_pickle=allow_pickle, where=where)
        log(f"model {model.label}: {model.channels} channel(s), {model.sample_size} px, "
            f"{model.scheduler_config.get('prediction_type', 'epsilon')}, on {model.device} "
            f"{str(model.dtype).removeprefix('torch.')} (loaded in {time.time() - loaded_at:.1f} s)")
        if config.run.compile:
            model.unet = torch.compile(model.unet)
        # Plan (and so validate against the model) before anything is written.
        runs_of = [prepare(experiments.get(name), config, model, runs) for name in names]
        planned, found = _estimate(runs_of, config, model, log)
        if dry_run:
            results += [dict(vars(c), experiment=c.name, model=model.slug, cached=False) for c in planned]
            continue
        with RunsLock(runs):
            results += _execute_all(runs_of, config, model, progress, log, found.call_batch if found else 0)
    return results


def _estimate(runs_of: list, config: Config, model, log) -> tuple[list, Probe | None]:
    """Probe the model and log the cost of what is missing (nothing at all when everything is done)."""
    todo = [(run.name, run.missing_units()) for run in runs_of]
    if not any(units for _, units in todo):
        return [], None
    found = probe(model, config.run.max_batch)
    costs = [cost(name, units, found) for name, units in todo if units]
    for line in report(model, costs, found):
        log(line)
    return costs, found


def _execute_all(runs_of: list, config: Config, model, progress: bool, log, call_batch: int = 0) -> list[dict]:
    """`call_batch`: the probe's, already fitted to memory (0: fit it at the first call)."""
    results = []
    todo = [run for run in runs_of if not run.cached]
    total = sum(unit.images for run in todo for unit in run.units)
    bar = tqdm(total=total, unit="img", disable=not progress or not total, dynamic_ncols=True, desc=model.slug)
    context = Context(model=model, max_batch=config.run.max_batch, on_calls=bar.update, call_batch=call_batch)
    say = bar.write if progress else log
    for run in runs_of:
        if run.cached:
            results.append({"experiment": run.name, "model": model.slug, "cached": True, "model_calls": 0,
                            "images": 0, "seconds": 0.0, "run_dir": str(run.run_dir)})
            say(f"  {run.name}: up to date ({run.run_dir})")
            continue
        done = iter(range(1, len(run.units) + 1))
        bar.set_postfix_str(f"{run.name} 0/{len(run.units)} units")
        timings = execute(run, config, model, context, on_unit=lambda unit: bar.set_postfix_str(
            f"{run.name} {next(done)}/{len(run.units)} units, {context.calls} model calls"))
        results.append(dict(timings, model=model.slug, cached=False, run_dir=str(run.run_dir)))
        say(f"  {run.name}: {timings['model_calls']} model calls, {timings['images']} images "
            f"in {timings['seconds']:.1f} s -> {run.run_dir}")
    bar.close()
    return results
