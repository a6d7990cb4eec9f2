"""Samplers compared, the site side: trajectories on one progress slider per budget, finals against
the converged image, a chart of distance against model calls, a chart of the noise level of every
model call, and the facts the page words.

Distances are put to scale by the site's one typical distance (`claims.typical_distance`: two
independent noises' outputs, the mix run at s = 1), the value every page shows.
"""

from __future__ import annotations

import statistics

import numpy as np

from ...toolkit.frames import Frames, axis
from ...toolkit.measures import pixels
from ..similar_noise.distance import typical_distance
from ..step_counts.figure import progress_index, progress_positions
from . import DETERMINISTIC, DIFF, NAMES, ORDER, REF, X

BETA_SCHEDULES = {"squaredcos_cap_v2": "cosine", "linear": "linear", "scaled_linear": "scaled linear"}
CLOSE = 0.25  # "the same picture": within a quarter of the distance between two unrelated samples
# "Identical": no seed's final of one sampler is further from the converged image than the other's by
# more than a change of one 8-bit level (2/255) on every value of the image would make. Euler and DDIM
# compute the same steps in other variables; float rounding flips a level here and there (measured on
# the default runs: at most 0.02 on fashion-32, 0.14 on emoji-32, against 0.25 and 0.43).
IDENTICAL_LEVELS = 1


def build(run, sheets) -> dict:
    frames = Frames(run)
    kinds, budgets, steps = axis(run, "samplers"), axis(run, "calls"), axis(run, "steps")
    counts = sorted({steps[k][str(b)] for k in kinds for b in budgets})
    positions = progress_positions(counts)
    steps_at = {
        k: {str(b): [progress_index(p, positions, steps[k][str(b)]) for p in range(positions + 1)] for b in budgets}
        for k in kinds
    }
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
                first = (
                    [[start_ref[0], start_ref[1], records[0]["file"]]]
                    if records[0]["sha256"] == start
                    else sheets.add([records[0]["file"]], track=f"seed {seed} start", group=index)
                )
                tracks[kind][str(budget)] = first + sheets.add(
                    [r["file"] for r in records[1:]], track=f"seed {seed}, {kind}, {budget} calls", group=index
                )
                diff = frames.get(DIFF, sampler=kind, calls=budget, seed=seed)
                # one small sheet per seed and budget: the heatmaps a view shows together
                finals[kind][str(budget)] = {
                    "diff": sheets.add([diff["file"]], track=f"diffs {seed} {budget}", group=index)[0],
                    "distance": diff["metrics"]["distance_to_reference"],
                    "calls": diff["metrics"]["model_calls"],
                }
        reference = sheets.add([frames.file(REF, seed=seed)], track="references")[0]
        seeds.append({"seed": seed, "reference": reference, "tracks": tracks, "finals": finals})
    return {
        "samplers": [
            {"kind": k, "name": NAMES[k], "order": ORDER[k], "deterministic": k in DETERMINISTIC} for k in kinds
        ],
        "budgets": budgets,
        "steps": steps,
        "positions": positions,
        "steps_at": steps_at,
        "seeds": seeds,
        "reference": axis(run, "reference"),
        "diff_scale": float(axis(run, "diff_scale")),
        # the chart of noise levels: every call's sigma, and Heun's first-step factor per budget
        "call_sigmas": axis(run, "call_sigmas"),
        "heun_factor": {str(b): heun_factor(run, b) for b in budgets} if "heun" in kinds else {},
        # a sampler whose finals are another's (Euler's are DDIM's): the chart draws it over that one
        # and the legend says so
        "identical": identical_pairs(run),
    }


def distances(run) -> dict[str, dict[int, list[float]]]:
    """Per sampler and budget, each seed's distance of the final to the converged image."""
    frames = Frames(run)
    kinds, budgets, seeds = axis(run, "samplers"), axis(run, "calls"), axis(run, "seeds")
    return {
        k: {
            b: [frames.get(DIFF, sampler=k, calls=b, seed=s)["metrics"]["distance_to_reference"] for s in seeds]
            for b in budgets
        }
        for k in kinds
    }


def identical_within(run) -> float:
    """The distance that one 8-bit level on every value of a frame makes: IDENTICAL_LEVELS * 2/255 * sqrt(values)."""
    kind, budget, seed = axis(run, "samplers")[0], axis(run, "calls")[0], axis(run, "seeds")[0]
    values = pixels(run, Frames(run).get(X, sampler=kind, calls=budget, seed=seed, step=0)).size
    return IDENTICAL_LEVELS * 2 / 255 * float(np.sqrt(values))


def largest_gap(run, a: str, b: str) -> float:
    """The largest difference, over seeds and budgets, between two samplers' distances to the converged image."""
    d = distances(run)
    return max(abs(x - y) for budget in d[a] for x, y in zip(d[a][budget], d[b][budget]))


def identical_pairs(run) -> dict[str, str]:
    """{"euler": "ddim"} where Euler's finals are DDIM's within identical_within (DDIM is Euler's method on the
    probability-flow ODE in other variables: Karras et al. 2022); empty otherwise."""
    kinds = axis(run, "samplers")
    if "euler" in kinds and "ddim" in kinds and largest_gap(run, "euler", "ddim") <= identical_within(run):
        return {"euler": "ddim"}
    return {}


def heun_factor(run, budget: int) -> float | None:
    """What Heun's corrector multiplies the change between the network's two clean-image guesses of its
    first step by: (sigma_0 - sigma_1) / (2 sigma_1). Heun's first step ends at Euler's trial point
    plus h/2 (d_1 - d_0), with d = (x - x0_hat) / sigma, and that difference is (x0_a - x0_b) / sigma_1.
    None when its only step goes to sigma = 0 (no corrector)."""
    sigmas = axis(run, "call_sigmas")["heun"][str(budget)]
    if len(sigmas) < 2 or sigmas[1] <= 0:
        return None
    return (sigmas[0] - sigmas[1]) / (2 * sigmas[1])


def facts(run, runs: dict) -> dict:
    """What the page may say, each computed from the run (and the site's one typical distance):
    - per sampler and budget: its model calls and the mean distance of its finals to the converged
      image (`mean[kind][budget]`), which the page states per budget;
    - `typical`: claims.typical_distance, two unrelated samples' distance (None without a mix run);
    - `converged`: the deterministic samplers whose finals at the largest budget are within CLOSE of
      a typical distance (the same picture), `astray` the ones that are not;
    - `second_order`: per budget, whether DPM-Solver++ lands closer than both first-order ODE
      samplers (DDIM, Euler); `saving`: the pair (b, c), c > b, with the largest c / b for which
      DPM-Solver++ with b calls lands closer than DDIM with c calls, with both distances (None if none);
    - `euler_is_ddim`: Euler and DDIM land on the same finals (`euler_ddim_gap` <= `identical_within`);
    - `heun`: per budget its steps, its first step's sigma_1 and corrector factor, and `broken`, the
      budgets whose mean distance is above the typical distance (further than another picture);
      `pinned`: the share of its pixels at black or white after its first step at the smallest
      budget, against DDIM's (`pinned_ddim`);
    - `ddpm_elsewhere`: every DDPM final (each seed, each budget) stays at least half a typical
      distance away; `ddpm_elsewhere_mean`: the means do at every budget; `ddpm_nearest`: the closest
      DDPM final (distance, seed, budget) and `ddpm_closer`, how many of `ddpm_finals` come within
      half a typical distance (what a sentence about the means must not hide)."""
    kinds, budgets, seeds = axis(run, "samplers"), axis(run, "calls"), axis(run, "seeds")
    frames = Frames(run)
    typical = typical_distance(runs.get("mix_noise"))
    per_seed = distances(run)
    rows = {
        k: [
            {
                "budget": b,
                "calls": frames.get(DIFF, sampler=k, calls=b, seed=seeds[0])["metrics"]["model_calls"],
                "distances": per_seed[k][b],
                "mean": statistics.fmean(per_seed[k][b]),
            }
            for b in budgets
        ]
        for k in kinds
    }
    mean = {k: {b: statistics.fmean(per_seed[k][b]) for b in budgets} for k in kinds}
    close = CLOSE * typical if typical else None
    deterministic = [k for k in kinds if k in DETERMINISTIC]
    converged = [k for k in deterministic if close is not None and mean[k][budgets[-1]] <= close]
    first_order = [k for k in ("ddim", "euler") if k in kinds]
    second_order = (
        {str(b): all(mean["dpmpp_2m"][b] < mean[k][b] for k in first_order) for b in budgets}
        if "dpmpp_2m" in kinds and first_order
        else {}
    )
    euler_ddim_gap = largest_gap(run, "euler", "ddim") if {"euler", "ddim"} <= set(kinds) else None
    sigmas = axis(run, "call_sigmas")
    return {
        "samplers": [{"kind": k, "name": NAMES[k], "rows": rows[k], "last": mean[k][budgets[-1]]} for k in kinds],
        "mean": {k: {str(b): mean[k][b] for b in budgets} for k in kinds},
        "names": {k: NAMES[k] for k in kinds},
        "budgets": budgets,
        "reference": axis(run, "reference"),
        "seeds": len(seeds),
        "typical": typical,
        "close": close,
        "close_share": CLOSE,
        "sigma_max": sigmas[kinds[0]][str(budgets[0])][0],
        # the noise level every first step ends at: the second call's (any sampler, any budget), at most
        "sigma_1_max": max(
            (v[1] for by_budget in sigmas.values() for v in by_budget.values() if len(v) > 1), default=None
        ),
        "schedule": BETA_SCHEDULES.get(run.manifest["scheduler"]["config"].get("beta_schedule"), "noise"),
        "converged": converged,
        "astray": [k for k in deterministic if k not in converged],
        "close_at": {str(b): [k for k in kinds if close is not None and mean[k][b] <= close] for b in budgets},
        "second_order": second_order,
        "second_order_everywhere": bool(second_order) and all(second_order.values()),
        "saving": saving(mean, budgets) if {"dpmpp_2m", "ddim"} <= set(kinds) else None,
        "euler_is_ddim": bool(identical_pairs(run)),
        "euler_ddim_gap": euler_ddim_gap,
        "identical_within": identical_within(run),
        "heun": heun_facts(run, mean["heun"], typical) if "heun" in kinds else None,
        **ddpm_facts(rows.get("ddpm"), seeds, typical),
    }


def ddpm_facts(rows: list[dict] | None, seeds: list[int], typical: float | None) -> dict:
    """How far DDPM's finals stay from the converged image, final by final and in the mean."""
    if not rows or typical is None:
        return {"ddpm_elsewhere": False, "ddpm_elsewhere_mean": False, "ddpm_nearest": None, "ddpm_closer": 0}
    finals = [(d, seed, r["budget"]) for r in rows for seed, d in zip(seeds, r["distances"])]
    nearest = min(finals)
    return {
        "ddpm_elsewhere": all(d >= 0.5 * typical for d, _, _ in finals),
        "ddpm_elsewhere_mean": all(r["mean"] >= 0.5 * typical for r in rows),
        "ddpm_nearest": {"distance": nearest[0], "seed": nearest[1], "budget": nearest[2]},
        "ddpm_closer": sum(d < 0.5 * typical for d, _, _ in finals),
        "ddpm_finals": len(finals),
    }


def saving(mean: dict, budgets: list[int]) -> dict | None:
    """The widest saving second order buys: DPM-Solver++ with `calls` lands closer than DDIM with
    `ddim_calls` (> calls), the largest ratio of the two; both distances, so that the sentence
    compares exactly the two numbers it names."""
    pairs = [(c / b, b, c) for b in budgets for c in budgets if c > b and mean["dpmpp_2m"][b] < mean["ddim"][c]]
    if not pairs:
        return None
    _, b, c = max(pairs)
    return {"calls": b, "dpm": mean["dpmpp_2m"][b], "ddim_calls": c, "ddim": mean["ddim"][c]}


def heun_facts(run, mean: dict[int, float], typical: float | None) -> dict:
    """Heun per budget: steps, the sigma of its second call, its corrector's factor, its mean distance;
    `broken`: the budgets where that distance is above the typical distance (another picture, or none)."""
    budgets = axis(run, "calls")
    sigmas = axis(run, "call_sigmas")["heun"]
    per_budget = [
        {
            "budget": b,
            "steps": axis(run, "steps")["heun"][str(b)],
            "calls": Frames(run).get(DIFF, sampler="heun", calls=b, seed=axis(run, "seeds")[0])["metrics"][
                "model_calls"
            ],
            "sigma_1": sigmas[str(b)][1] if len(sigmas[str(b)]) > 1 else None,
            "factor": heun_factor(run, b),
            "mean": mean[b],
            "broken": typical is not None and mean[b] > typical,
        }
        for b in budgets
    ]
    return {
        "budgets": per_budget,
        "broken": [r["budget"] for r in per_budget if r["broken"]],
        "fine": [r["budget"] for r in per_budget if not r["broken"]],
        "pinned": pinned_after_first_step(run, "heun", budgets[0]),
        "pinned_ddim": pinned_after_first_step(run, "ddim", budgets[0]) if "ddim" in axis(run, "samplers") else None,
    }


def pinned_after_first_step(run, kind: str, budget: int) -> float | None:
    """Share of the pixels at black or white (the ends of the 8-bit range) in the sampler's image after
    its first step, mean over seeds: what a blown-up first step looks like. The state then still holds
    noise of about sigma_1 / sqrt(sigma_1^2 + 1) std, so a share of it is pinned anyway: DDIM's is the
    baseline. None when the first step is the last (the final image, not a state on the way)."""
    if axis(run, "steps")[kind][str(budget)] < 2:
        return None
    frames = Frames(run)
    shares = [
        float((np.abs(pixels(run, frames.get(X, sampler=kind, calls=budget, seed=seed, step=1))) >= 1.0).mean())
        for seed in axis(run, "seeds")
    ]
    return statistics.fmean(shares)
