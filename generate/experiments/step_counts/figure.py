"""Number of steps, the site side: trajectories on one progress slider, differences, and the facts.

The progress slider has P positions shared by every count; at position p an n-step trajectory shows
its step `progress_index(p, P, n)`. The figure data carries that table (`steps_at`), so the figure
script looks steps up instead of computing them a second time in JavaScript.
"""

from __future__ import annotations

import math
import statistics

from ...toolkit.contract import Animation, Axis, Offer
from ...toolkit.frames import Frames, axis
from ...toolkit.tables import frames_table
from ..similar_noise.distance import typical_distance
from . import DIFF, LEADING, LEADING_DIFF, X

MAX_POSITIONS = 200  # finer than the pixels of a slider track; see progress_positions


def progress_index(position: int, positions: int, steps: int) -> int:
    """Step of an n-step trajectory shown at slider position p of 0..P: nearest to progress p/P, ties up."""
    return (2 * position * steps + positions) // (2 * positions)


def progress_positions(counts: list[int]) -> int:
    """Positions P of the common progress slider.

    Up to MAX_POSITIONS, one position per step of the longest run. Beyond that a multiple of the
    shorter runs' step counts (so each of their steps is still reachable) of at least MAX_POSITIONS:
    the 1000-step run then ships only the frames at those positions (201 of 1001) instead of all.
    """
    top = max(counts)
    if top <= MAX_POSITIONS:
        return top
    base = math.lcm(*[n for n in counts if n < top]) if len(counts) > 1 else 1
    positions = base * math.ceil(MAX_POSITIONS / base)
    return positions if positions < top else top


def build(run, sheets) -> dict:
    """Per seed and count: the trajectory at the slider's positions, and the final's difference to the
    reference (the largest count); per count: model calls, the measured seconds (run.json), and the
    step shown at each slider position (`steps_at`)."""
    frames, counts = Frames(run), sorted(int(n) for n in axis(run, "steps"))
    positions = progress_positions(counts)
    steps_at = {str(n): [progress_index(p, positions, n) for p in range(positions + 1)] for n in counts}
    seeds = []
    for index, seed in enumerate(axis(run, "seeds")):
        tracks, finals = {}, {}
        for n in counts:
            shown = sorted(set(steps_at[str(n)]))
            refs = sheets.add(
                [frames.file(X, steps=n, seed=seed, step=i) for i in shown],
                track=f"seed {seed}, {n} steps",
                group=index,
            )
            track = [None] * (n + 1)  # steps no slider position reaches are not shipped
            for i, ref in zip(shown, refs):
                track[i] = ref
            tracks[str(n)] = track
            diff = frames.get(DIFF, steps=n, seed=seed)
            # every seed's difference heatmaps share one small colour sheet that the first view loads
            finals[str(n)] = {
                "diff": sheets.add([diff["file"]], track="diffs")[0],
                "distance": diff["metrics"].get("distance_to_reference"),
            }
        leading = {}
        for n in leading_counts(run):
            final = frames.get(LEADING, steps=n, seed=seed)
            diff = frames.get(LEADING_DIFF, steps=n, seed=seed)
            leading[str(n)] = {
                "final": sheets.add([final["file"]], track=f"seed {seed}, leading", group=index)[0],
                "distance": diff["metrics"].get("distance_to_reference"),
            }
        seeds.append({"seed": seed, "tracks": tracks, "finals": finals, "leading": leading})
    return {
        "counts": counts,
        "positions": positions,
        "steps_at": steps_at,
        "seeds": seeds,
        "reference": counts[-1],
        "calls": counts,
        "per_call": per_call(run),
        "diff_scale": float(axis(run, "diff_scale")),
        "leading": leading_counts(run),
        "starts": starts(run),
    }


def leading_counts(run) -> list[int]:
    return sorted(int(n) for n in run.manifest["axes"].get("leading", []))


def starts(run) -> dict:
    """Where each count starts, per spacing: {"trailing": {n: {timestep, alpha_bar}}, "leading": {...}}."""
    return run.manifest["axes"].get("first_timesteps", {})


def per_call(run) -> dict:
    """What one model call cost on the machine that made the run: the median over the run's calls
    (run.json) and the images a call carried (the most common batch); {} for a run without timings."""
    timing = run.record.get("seconds_per_call") or {}
    sizes = run.record.get("images_per_call") or {}
    if not timing:
        return {}
    images = max(sizes, key=lambda k: sizes[k]) if sizes else None
    return {"median": timing["median"], "images": int(images) if images else None, "calls": timing.get("calls")}


def facts(run, runs: dict) -> dict:
    """Per step count: model calls, measured seconds, and the distance of its final image to the
    reference final (the largest count) for every seed; `typical` puts those distances to scale."""
    index = Frames(run)
    counts = sorted(int(n) for n in run.manifest["axes"]["steps"])
    seeds = run.manifest["axes"]["seeds"]
    rows, first = [], starts(run)
    for n in counts:
        distances = [index.get(DIFF, steps=n, seed=s)["metrics"]["distance_to_reference"] for s in seeds]
        rows.append(
            {
                "steps": n,
                "calls": n,
                "distances": distances,
                "mean": statistics.fmean(distances),
                "low": min(distances),
                "high": max(distances),
                **first.get("trailing", {}).get(str(n), {}),
            }
        )
    leading = []
    for n in leading_counts(run):
        distances = [index.get(LEADING_DIFF, steps=n, seed=s)["metrics"]["distance_to_reference"] for s in seeds]
        trailing = next((r for r in rows if r["steps"] == n), None)
        leading.append(
            {
                "steps": n,
                "distances": distances,
                "mean": statistics.fmean(distances),
                "low": min(distances),
                "high": max(distances),
                "trailing_mean": trailing["mean"] if trailing else None,
                **first.get("leading", {}).get(str(n), {}),
            }
        )
    others = rows[:-1]
    # "fewer steps are worse": the mean distance to the reference never grows as the count grows
    monotone = all(a["mean"] >= b["mean"] for a, b in zip(others, others[1:]))
    typical = typical_distance(runs.get("mix_noise"))
    # the count where a late start does most harm: its leading final furthest from the reference
    # relative to the same count started at t = T - 1
    worst = max((r for r in leading if r["trailing_mean"]), key=lambda r: r["mean"] - r["trailing_mean"], default=None)
    return {
        "counts": counts,
        "reference": counts[-1],
        "rows": rows,
        "seeds": len(seeds),
        "typical": typical,
        "leading": leading,
        "worst_leading": worst,
        "per_call": per_call(run),
        "fewer_is_worse": monotone and bool(others) and others[0]["mean"] > others[-1]["mean"],
        # the fewest steps give a visibly other picture: at least a quarter of an unrelated sample's distance
        "fewest_visibly_different": bool(others) and typical is not None and others[0]["mean"] >= 0.25 * typical,
    }


RACE_POSITIONS = 50  # frames of the race download: every count at each fiftieth of the way


def downloads(run) -> list:
    """Per seed: the race, every count side by side at the same progress (GIF, MP4); and each
    final's distance to the reference with its model calls, every seed and count (CSV)."""
    frames, counts, seeds = Frames(run), sorted(int(n) for n in axis(run, "steps")), axis(run, "seeds")
    positions = min(RACE_POSITIONS, max(counts))
    races = [
        Animation(
            f"seed{s}_race",
            [
                [frames.file(X, steps=n, seed=s, step=progress_index(p, positions, n)) for n in counts]
                for p in range(positions + 1)
            ],
        )
        for s in seeds
    ]
    finals = frames_table("finals", [frames.get(DIFF, steps=n, seed=s) for s in seeds for n in counts])
    return [
        Offer(f"this seed's race of {', '.join(map(str, counts))} steps", races, (Axis("seed", len(seeds)),)),
        Offer("every final's distance to the reference", [finals]),
    ]
