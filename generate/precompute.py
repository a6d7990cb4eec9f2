"""`python -m generate precompute`: config -> runs. Every experiment of every model, batched."""

from __future__ import annotations

import time
from pathlib import Path

from tqdm import tqdm

from .config import EXPERIMENTS, Config
from .errors import UsageError
from .experiments import module
from .loading import load_model
from .runner import Context, RunsLock, execute, prepare


def precompute(config: Config, runs: Path, models: list[str] | None = None, only: list[str] | None = None,
               device: str | None = None, dtype: str | None = None, allow_pickle: bool = False,
               progress: bool = True, log=print) -> list[dict]:
    """Run the missing experiments; return one timing record per experiment (cached ones included)."""
    names = only or config.experiments
    for name in names:
        if name not in EXPERIMENTS:
            raise UsageError(f"--only {name!r}: unknown experiment; allowed: {', '.join(EXPERIMENTS)}")
    results = []
    with RunsLock(runs):
        for spec in models or config.models:
            loaded_at = time.time()
            model = load_model(spec, device or config.run.device, dtype or config.run.dtype,
                               allow_pickle=allow_pickle)
            log(f"model {model.label}: {model.channels} channel(s), {model.sample_size} px, "
                f"{model.scheduler_config.get('prediction_type', 'epsilon')}, on {model.device} "
                f"{str(model.dtype).removeprefix('torch.')} (loaded in {time.time() - loaded_at:.1f} s)")
            runs_of = [prepare(name, module(name), config, model, runs) for name in names]
            todo = [run for run in runs_of if not run.cached]
            total = sum(unit.images for run in todo for unit in run.units)
            bar = tqdm(total=total, unit="img", disable=not progress or not total, dynamic_ncols=True,
                       desc=model.slug)
            context = Context(model=model, max_batch=config.run.max_batch, on_calls=bar.update)
            for run in runs_of:
                if run.cached:
                    results.append({"experiment": run.name, "model": model.slug, "cached": True,
                                    "model_calls": 0, "images": 0, "seconds": 0.0, "run_dir": str(run.run_dir)})
                    log(f"  {run.name}: up to date ({run.run_dir})")
                    continue
                bar.set_postfix_str(run.name)
                timings = execute(run, config, model, context)
                results.append(dict(timings, model=model.slug, cached=False, run_dir=str(run.run_dir)))
                bar.write(f"  {run.name}: {timings['model_calls']} model calls, {timings['images']} images "
                          f"in {timings['seconds']:.1f} s -> {run.run_dir}") if progress else \
                    log(f"  {run.name}: {timings['model_calls']} calls in {timings['seconds']:.1f} s")
            bar.close()
    return results
