"""Where trajectories go, the site side: one PCA plane for all states of the run (projection.py),
each seed's frames for the panels, and the facts the page words, all from the frames.

    spread(i)   mean Euclidean distance between two different seeds' states at step i (full space)
    commit      the first step from which every seed's x0 estimate lies nearer its own final image
                than any other seed's final, to the end (each estimate has "chosen" its picture)

Distances about noise are not measured on the frames (a noise frame is clipped to [-1, 1], which
shrinks them by about a quarter): the start noises' distance comes from the manifest's axes and
x_t's distance to its estimate from the x0 frames' `gap`, both measured on the float tensors at
precompute time (compute.py). "Two unrelated samples" is the site's one value of it,
claims.typical_distance (the similar-noise mix run at s = 1), not this run's sixteen finals.
"""

from __future__ import annotations

import itertools

import numpy as np
from PIL import Image

from ...toolkit.frames import Frames, axis
from ..similar_noise.distance import typical_distance
from . import X0, X
from .projection import project

_LOADED: dict[tuple, dict] = {}  # one decode of a run's frames per site build: build and facts share it


def _states(run) -> dict:
    """The run's frames as uint8 arrays: x (S, T + 1, D) and x0 (S, T, D), seeds in axis order."""
    key = (str(run.folder), tuple(f["file"] for f in run.manifest["frames"]))
    if key not in _LOADED:
        frames, steps, seeds = Frames(run), int(axis(run, "steps")), axis(run, "seeds")

        def load(panel, count):
            return np.stack(
                [
                    np.stack(
                        [
                            np.asarray(Image.open(run.folder / frames.file(panel, seed=s, step=i))).ravel()
                            for i in range(count)
                        ]
                    )
                    for s in seeds
                ]
            )

        _LOADED.clear()
        states = {"x": load(X, steps + 1), "x0": load(X0, steps)}
        s = len(seeds)
        # the plane, fitted once: build draws it, facts quote its share of the variance
        states["plane"] = project(
            np.concatenate([states["x"].reshape(s * (steps + 1), -1), states["x0"].reshape(s * steps, -1)])
        )
        _LOADED[key] = states
    return _LOADED[key]


def _spread(states: np.ndarray) -> float:
    """Mean distance between two different seeds' states, on the [-1, 1] scale."""
    values = states.astype(np.float64) / 127.5
    return float(np.mean([np.linalg.norm(a - b) for a, b in itertools.combinations(values, 2)]))


def _spread_2d(points: np.ndarray) -> float:
    """Mean distance between two of these points on the plane (plane coordinates, same unit)."""
    return float(np.mean([np.linalg.norm(a - b) for a, b in itertools.combinations(points, 2)]))


def build(run, sheets) -> dict:
    frames, steps, seeds = Frames(run), int(axis(run, "steps")), axis(run, "seeds")
    states = _states(run)
    s = len(seeds)
    coords, explained = states["plane"]
    xs = coords[: s * (steps + 1)].reshape(s, steps + 1, 2)
    x0s = coords[s * (steps + 1) :].reshape(s, steps, 2)
    rows = []
    for index, seed in enumerate(seeds):
        track = {"track": f"seed {seed}", "group": index}
        rows.append(
            {
                "seed": seed,
                "x": sheets.add([frames.file(X, seed=seed, step=i) for i in range(steps + 1)], **track),
                "x0": sheets.add([frames.file(X0, seed=seed, step=i) for i in range(steps)], **track),
            }
        )
    r = lambda a: np.round(a, 3).tolist()
    return {
        "steps": steps,
        "timesteps": axis(run, "timesteps"),
        "alpha_bar": axis(run, "alpha_bar"),
        "seeds": rows,
        "explained": [round(e, 4) for e in explained],
        "points": {"x": r(xs), "x0": r(x0s)},
    }


def facts(run, runs: dict) -> dict:
    """What the page may say: the plane's share of the variance; the spread of the x0 estimates at
    step 1 against the typical distance between two unrelated samples (`together_at_start`: under
    half of it); the start noises' float distance; x_t's float distance to its estimate at the first
    and the last step; the commit step."""
    steps, seeds = int(axis(run, "steps")), axis(run, "seeds")
    states = _states(run)
    s = len(seeds)
    _, explained = states["plane"]
    finals = states["x"][:, steps].astype(np.float64) / 127.5
    x0 = states["x0"].astype(np.float64) / 127.5  # (S, T, D)
    # nearest final of each seed's estimate at each step: (T, S)
    distances = np.linalg.norm(x0[:, :, None, :] - finals[None, None, :, :], axis=3)  # (S, T, S)
    nearest_own = distances.argmin(axis=2) == np.arange(s)[:, None]  # (S, T) the seed's estimate nearest its own final
    own = nearest_own.all(axis=0)  # (T,) every seed nearest its own
    commit = next((i for i in range(steps) if own[i:].all()), None)
    x0_spread = [_spread(states["x0"][:, i]) for i in range(steps)]
    final_spread = _spread(states["x"][:, steps])
    typical = typical_distance(runs.get("mix_noise"))
    baseline = typical if typical is not None else final_spread
    frames = Frames(run)
    # ||x_t - x0 estimate|| on the floats (compute.py), mean over seeds, at step 1 and the last step
    gaps = [[frames.get(X0, seed=seed, step=i)["metrics"].get("gap") for seed in seeds] for i in (0, steps - 1)]
    gap = [float(np.mean(g)) for g in gaps] if all(v is not None for g in gaps for v in g) else None
    noise = run.manifest["axes"].get("start_noise") or {}
    coords = states["plane"][0]
    on_plane = {
        "noise": _spread_2d(coords[0 : s * (steps + 1) : steps + 1]),  # each seed's x_T: step 0 of its row
        "finals": _spread_2d(coords[steps : s * (steps + 1) : steps + 1]),
    }  # ... and its final: step T
    return {
        "steps": steps,
        "seeds": s,
        "explained": explained,
        "plane_share": sum(explained),
        # the estimates move apart: their spread at the last step at least 3 times that at step 1
        "fans_out": x0_spread[-1] >= 3 * x0_spread[0],
        # x_t comes to meet its estimate: their distance at the last step a tenth of the first's
        "gap": gap,
        "meet": gap is not None and gap[1] <= 0.1 * gap[0],
        "x0_start_spread": x0_spread[0],
        "final_spread": final_spread,
        "typical": typical,
        # the float start noises (None for a run made before they were measured)
        "noise_spread": noise.get("mean"),
        "noise_dimensions": noise.get("dimensions"),
        "x0_spread": x0_spread,
        # the same spreads measured on the plane: what the figure draws (the noise nearly vanishes)
        "plane_noise_spread": on_plane["noise"],
        "plane_final_spread": on_plane["finals"],
        "together_at_start": x0_spread[0] < 0.5 * baseline,
        "commit": commit,
        "own_at_step": own.tolist(),
        # how many seeds' estimates are nearest their own final, per step (chance: 1 of the seeds)
        "own_count": nearest_own.sum(axis=0).tolist(),
        "own_half_from": next((i for i in range(steps) if nearest_own[:, i].sum() * 2 > s), None),
    }
