"""Samplers compared, the site side: trajectories on one progress slider per budget, finals against
the converged image, a chart of distance against model calls, and the facts the page words.

`typical` is the mean distance between the converged images of two different seeds: what "another
picture" measures on this model, so that the page can say how close "close" is.
"""

from __future__ import annotations

import itertools
import statistics

from ...site.figures import Frames, axis
from ..step_counts.figure import progress_index, progress_positions
from . import DETERMINISTIC, DIFF, NAMES, ORDER, REF, X

SCHEDULES = {"squaredcos_cap_v2": "cosine", "linear": "linear", "scaled_linear": "scaled linear"}
CLOSE = 0.25  # "the same picture": within a quarter of the distance between two different pictures


def build(run, sheets) -> dict:
    frames = Frames(run)
    kinds, budgets, steps = axis(run, "samplers"), axis(run, "calls"), axis(run, "steps")
    counts = sorted({steps[k][str(b)] for k in kinds for b in budgets})
    positions = progress_positions(counts)
    steps_at = {k: {str(b): [progress_index(p, positions, steps[k][str(b)]) for p in range(positions + 1)]
                    for b in budgets} for k in kinds}
    seeds = []
    for index, seed in enumerate(axis(run, "seeds")):
        tracks, finals = {}, {}
        # Every trajectory of a seed starts from the same noise: where the step-0 frames are the same
        # bytes, they share one cell (so the first view, at 0 %, opens one small sheet, not 25).
        start, start_ref = None, None
        for kind in kinds:
            tracks[kind], finals[kind] = {}, {}
            for budget in budgets:
                n = steps[kind][str(budget)]
                records = [frames.get(X, sampler=kind, calls=budget, seed=seed, step=i) for i in range(n + 1)]
                if start is None:
                    start = records[0]["sha256"]
                    start_ref = sheets.add([records[0]["file"]], track=f"seed {seed} start", group=index)[0]
                first = ([[start_ref[0], start_ref[1], records[0]["file"]]] if records[0]["sha256"] == start
                         else sheets.add([records[0]["file"]], track=f"seed {seed} start", group=index))
                tracks[kind][str(budget)] = first + sheets.add(
                    [r["file"] for r in records[1:]], track=f"seed {seed}, {kind}, {budget} calls", group=index)
                diff = frames.get(DIFF, sampler=kind, calls=budget, seed=seed)
                # one small sheet per seed and budget: the heatmaps a view shows together
                finals[kind][str(budget)] = {"diff": sheets.add([diff["file"]], track=f"diffs {seed} {budget}",
                                                                group=index)[0],
                                             "distance": diff["metrics"]["distance_to_reference"],
                                             "calls": diff["metrics"]["model_calls"]}
        reference = sheets.add([frames.file(REF, seed=seed)], track="references")[0]
        seeds.append({"seed": seed, "reference": reference, "tracks": tracks, "finals": finals})
    return {"samplers": [{"kind": k, "name": NAMES[k], "order": ORDER[k], "deterministic": k in DETERMINISTIC}
                         for k in kinds],
            "budgets": budgets, "steps": steps, "positions": positions, "steps_at": steps_at, "seeds": seeds,
            "reference": axis(run, "reference"), "diff_scale": float(axis(run, "diff_scale"))}


def facts(run, runs: dict) -> dict:
    """What the page may say, each computed from the run:
    - per sampler and budget: its model calls and the mean distance of its finals to the converged
      image; `typical` (two different seeds' converged images) puts distances to scale;
    - `converged`: the deterministic samplers whose finals at the largest budget are within CLOSE of
      a typical distance (the same picture), `astray` the ones that are not;
    - `second_order`: per budget, whether DPM-Solver++ lands closer than both first-order ODE
      samplers (DDIM, Euler), and `matches`: the fewest DDIM calls that do as well as DPM-Solver++ does
      with each budget (None beyond the grid);
    - `euler_is_ddim`: Euler and DDIM land on the same finals (within 1 % of a typical distance);
    - `ddpm_elsewhere`: DDPM stays at least half a typical distance away at every budget."""
    frames = Frames(run)
    kinds, budgets, seeds = axis(run, "samplers"), axis(run, "calls"), axis(run, "seeds")
    typical = typical_between_seeds(run)
    rows = {}
    for kind in kinds:
        rows[kind] = []
        for budget in budgets:
            records = [frames.get(DIFF, sampler=kind, calls=budget, seed=seed) for seed in seeds]
            distances = [r["metrics"]["distance_to_reference"] for r in records]
            rows[kind].append({"budget": budget, "calls": records[0]["metrics"]["model_calls"],
                               "distances": distances, "mean": statistics.fmean(distances)})
    mean = {k: {r["budget"]: r["mean"] for r in rows[k]} for k in kinds}
    close = CLOSE * typical if typical else None
    deterministic = [k for k in kinds if k in DETERMINISTIC]
    converged = [k for k in deterministic if close is not None and mean[k][budgets[-1]] <= close]
    first_order = [k for k in ("ddim", "euler") if k in kinds]
    second_order, matches = {}, {}
    if "dpmpp_2m" in kinds and first_order:
        for b in budgets:
            second_order[str(b)] = all(mean["dpmpp_2m"][b] < mean[k][b] for k in first_order)
        if "ddim" in kinds:
            for b in budgets:
                matches[str(b)] = next((c for c in budgets if mean["ddim"][c] <= mean["dpmpp_2m"][b]), None)
    saving = next(({"calls": b, "ddim_calls": matches[str(b)]} for b in budgets[1:]
                   if matches.get(str(b)) and matches[str(b)] > b), None)
    amplification = [v["amplification"] for v in axis(run, "heun_first_step").values()]
    euler_is_ddim = ("euler" in kinds and "ddim" in kinds and typical is not None and
                     max(abs(mean["euler"][b] - mean["ddim"][b]) for b in budgets) <= 0.01 * typical)
    return {
        "samplers": [{"kind": k, "name": NAMES[k], "rows": rows[k], "last": mean[k][budgets[-1]]} for k in kinds],
        "names": {k: NAMES[k] for k in kinds}, "budgets": budgets, "reference": axis(run, "reference"),
        "seeds": len(seeds), "typical": typical, "close": close, "close_share": CLOSE,
        "sigma_max": axis(run, "sigma_max"),
        "schedule": SCHEDULES.get(run.manifest["scheduler"]["config"].get("beta_schedule"), "noise"),
        "converged": converged, "astray": [k for k in deterministic if k not in converged],
        "close_at": {str(b): [k for k in kinds if close is not None and mean[k][b] <= close] for b in budgets},
        "second_order": second_order, "second_order_everywhere": bool(second_order) and all(second_order.values()),
        "matches": matches, "saving": saving, "euler_is_ddim": euler_is_ddim,
        "heun_amplification": [min(amplification), max(amplification)] if amplification else None,
        "ddpm_elsewhere": "ddpm" in kinds and typical is not None and all(
            r["mean"] >= 0.5 * typical for r in rows["ddpm"]),
    }


def typical_between_seeds(run) -> float | None:
    """Mean distance between the converged images of two different seeds (independent samples),
    from the reference PNGs themselves (one per seed, decoded here), on the same [-1, 1] scale as
    distance_to_reference. None with fewer than two seeds."""
    import numpy as np
    from PIL import Image

    seeds = axis(run, "seeds")
    if len(seeds) < 2:
        return None
    frames = Frames(run)
    pictures = {s: np.asarray(Image.open(run.path.parent / frames.file(REF, seed=s)), dtype=np.float64) / 127.5
                for s in seeds}
    return statistics.fmean(float(np.linalg.norm(pictures[a] - pictures[b]))
                            for a, b in itertools.combinations(seeds, 2))
