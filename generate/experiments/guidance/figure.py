"""Guidance, the site side: the trajectories by class, scale and seed, and what the scale does,
measured on the final images as the reader sees them (8-bit PNGs, no torch).

Per guidance scale w (over every class and seed of the run):
    accuracy     share of finals the model's shipped classifier puts in the class asked for
                 (precompute: the final frame's metric "correct"); None without a classifier
    diversity    mean Euclidean distance (images in -1 to 1) between the finals of two seeds of one
                 class, averaged over the classes: how different the pictures of one class are
    saturation   share of the finals' pixel values at full black or full white (0 or 255): guidance
                 pushed too far drives pixels out of range, and the clip flattens them
    white, black the two ends apart: full white is the overshoot; full black is mostly the
                 background of a dark-ground data set (Fashion-MNIST), there at every scale
"""

from __future__ import annotations

import itertools
import statistics

import numpy as np

from ...toolkit.contract import Animation, Axis, Offer
from ...toolkit.frames import Frames, axis
from ...toolkit.measures import pixels
from ...toolkit.tables import frames_table
from . import X0, X


def _finals(run, frames: Frames, label: int, scale: float, seeds: list[int], steps: int) -> list[np.ndarray]:
    return [pixels(run, frames.get(X, label=label, scale=scale, seed=s, step=steps)) for s in seeds]


def _diversity(finals: list[np.ndarray]) -> float:
    """Mean pairwise Euclidean distance between the seeds' finals (0 with one seed)."""
    pairs = [float(np.linalg.norm(a - b)) for a, b in itertools.combinations(finals, 2)]
    return statistics.fmean(pairs) if pairs else 0.0


def _saturated(finals: list[np.ndarray]) -> float:
    """Share of pixel values at the ends of the 8-bit range."""
    values = np.concatenate([f.ravel() for f in finals])
    return float(np.mean(np.abs(values) >= 1.0 - 1e-9))


def _ends(finals: list[np.ndarray]) -> tuple[float, float]:
    """Shares of pixel values at full white (255) and at full black (0)."""
    values = np.concatenate([f.ravel() for f in finals])
    return float(np.mean(values >= 1.0 - 1e-9)), float(np.mean(values <= -1.0 + 1e-9))


def measure(run, frames: Frames) -> dict:
    """Per scale and per (class, scale): accuracy, mean probability of the asked class, diversity and
    saturation, read off the frames (and the classifier's metrics the precompute recorded)."""
    steps = int(axis(run, "steps"))
    scales, labels, seeds = [float(s) for s in axis(run, "scales")], axis(run, "labels"), axis(run, "seeds")
    per_class, per_scale = [], []
    for scale in scales:
        row, hits, probabilities, finals_all = [], [], [], []
        for label in labels:
            metrics = [frames.get(X, label=label, scale=scale, seed=s, step=steps)["metrics"] for s in seeds]
            finals = _finals(run, frames, label, scale, seeds, steps)
            finals_all += finals
            correct = [m["correct"] for m in metrics if "correct" in m]
            found = [m["probability"] for m in metrics if "probability" in m]
            hits += correct
            probabilities += found
            row.append(
                {
                    "accuracy": statistics.fmean(correct) if correct else None,
                    "probability": statistics.fmean(found) if found else None,
                    "diversity": _diversity(finals),
                    "saturation": _saturated(finals),
                    "found": [m.get("found") for m in metrics],
                }
            )
        per_class.append(row)
        # the x0 estimate at each step: how often the classifier already finds the class asked for
        early = [
            [
                frames.get(X0, label=c, scale=scale, seed=s, step=i)["metrics"].get("correct")
                for c in labels
                for s in seeds
            ]
            for i in range(steps)
        ]
        per_scale.append(
            {
                "scale": scale,
                "accuracy": statistics.fmean(hits) if hits else None,
                "probability": statistics.fmean(probabilities) if probabilities else None,
                "diversity": statistics.fmean(r["diversity"] for r in row),
                "saturation": _saturated(finals_all),
                **dict(zip(("white", "black"), _ends(finals_all))),
                "x0_accuracy": [statistics.fmean(v) if None not in v else None for v in early],
            }
        )
    return {"scales": scales, "per_scale": per_scale, "per_class": per_class}


def build(run, sheets) -> dict:
    """Per class and scale, each seed's trajectory (x_t at steps 0..T, the x0 estimate at 0..T-1) and
    what the classifier found in its final; the measures per scale for the chart."""
    frames, steps = Frames(run), int(axis(run, "steps"))
    scales, labels, seeds = [float(s) for s in axis(run, "scales")], axis(run, "labels"), axis(run, "seeds")
    measured = measure(run, frames)
    cells = []
    for c, label in enumerate(labels):
        row = []
        for w, scale in enumerate(scales):
            files = [
                frames.file(panel, label=label, scale=scale, seed=s, step=i)
                for s in seeds
                for panel, count in ((X, steps + 1), (X0, steps))
                for i in range(count)
            ]
            refs = iter(sheets.add(files, track=f"class {label}, w {scale:g}", group=c))
            trajectories = []
            for s in seeds:
                final = frames.get(X, label=label, scale=scale, seed=s, step=steps)["metrics"]
                trajectories.append(
                    {
                        "x": [next(refs) for _ in range(steps + 1)],
                        "x0": [next(refs) for _ in range(steps)],
                        "found": final.get("found"),
                        "probability": final.get("probability"),
                    }
                )
            row.append({"seeds": trajectories, **measured["per_class"][w][c]})
        cells.append(row)
    classifier = run.manifest["axes"].get("classifier")
    return {
        "steps": steps,
        "timesteps": axis(run, "timesteps"),
        "scales": scales,
        "labels": labels,
        "class_names": axis(run, "class_names"),
        "seeds": seeds,
        "cells": cells,
        "per_scale": measured["per_scale"],
        "classifier": {"classes": classifier["classes"], "heldout_accuracy": classifier["heldout_accuracy"]}
        if classifier
        else None,
    }


def facts(run, runs: dict) -> dict:
    """What the page says, per scale and where the scale stops paying.

    `clear_from`: the smallest scale from which the accuracy never rises by more than one image of
    the grid (1 / cells) however far the scale goes: where the class stops getting clearer.
    `diversity_falls`: from that scale on, every larger scale gives less diversity than the one before.
    `first_guess`: how often the classifier finds the class asked for in the very first x0 estimate
    (from pure noise) at w = 1 and at the best scale, against chance (1 / classes).
    """
    frames = Frames(run)
    measured = measure(run, frames)
    rows = measured["per_scale"]
    labels, seeds = axis(run, "labels"), axis(run, "seeds")
    cells = len(labels) * len(seeds)
    classifier = run.manifest["axes"].get("classifier")
    out = {
        "rows": rows,
        "scales": measured["scales"],
        "classes": len(labels),
        "seeds": len(seeds),
        "cells": cells,
        "class_names": axis(run, "class_names"),
        "steps": int(axis(run, "steps")),
        "classifier": classifier,
        "unguided": rows[0] if rows and rows[0]["scale"] == 0.0 else None,
        "conditional": next((r for r in rows if r["scale"] == 1.0), None),
        "strongest": rows[-1] if rows else None,
        # the claims that need the classifier (or the scale 0), None where the run cannot make them
        "same_without_label": None,
        "clear_from": None,
        "best": None,
        "diversity_falls": None,
        "diversity_lost": None,
        "first_guess": None,
        "per_class": None,
    }
    if rows and rows[0]["scale"] == 0.0:
        # w = 0 ignores the label: every class's finals are the same pictures, byte for byte
        steps = out["steps"]
        out["same_without_label"] = all(
            len({frames.get(X, label=c, scale=0.0, seed=s, step=steps)["sha256"] for c in labels}) == 1 for s in seeds
        )
    if classifier and rows:
        one = 1.0 / cells
        clear = next(
            i for i, r in enumerate(rows) if all(later["accuracy"] <= r["accuracy"] + one + 1e-12 for later in rows[i:])
        )
        after = rows[clear:]
        out.update(
            clear_from=rows[clear],
            best=max(rows, key=lambda r: (r["accuracy"], -r["scale"])),
            diversity_falls=len(after) > 1 and all(b["diversity"] < a["diversity"] for a, b in zip(after, after[1:])),
            diversity_lost=1.0 - after[-1]["diversity"] / after[0]["diversity"] if after[0]["diversity"] else None,
        )
        # the network's first guess (the x0 estimate from pure noise, step 0): how often it already
        # shows the class asked for, at the plain conditional scale and at the best one
        first = {r["scale"]: r["x0_accuracy"][0] for r in rows if r["x0_accuracy"] and r["x0_accuracy"][0] is not None}
        if 1.0 in first and out["best"]["scale"] in first:
            between = [first[w] for w in sorted(first) if 1.0 <= w <= out["best"]["scale"]]
            out["first_guess"] = {
                "conditional": first[1.0],
                "best": first[out["best"]["scale"]],
                "best_scale": out["best"]["scale"],
                "chance": 1.0 / len(labels),
                # every scale from 1 up to the best shows the class in more first guesses than the one below
                "rises": len(between) > 1 and all(a < b for a, b in zip(between, between[1:])),
            }
        # per class: the scale at which all its seeds are first put in the class asked for
        out["per_class"] = [
            {
                "name": name,
                "accuracy": [measured["per_class"][w][c]["accuracy"] for w in range(len(rows))],
                "all_from": next(
                    (rows[w]["scale"] for w in range(len(rows)) if measured["per_class"][w][c]["accuracy"] == 1.0), None
                ),
            }
            for c, name in enumerate(axis(run, "class_names"))
        ]
    return out


def downloads(run) -> list:
    """Per class and scale: the seeds' trajectories side by side (GIF, MP4); and every final's
    numbers (class found, probability of the class asked for) for the whole grid (CSV)."""
    frames, steps = Frames(run), int(axis(run, "steps"))
    scales, labels, seeds = [float(s) for s in axis(run, "scales")], axis(run, "labels"), axis(run, "seeds")
    movies = [
        Animation(
            f"class{label}_w{scale:g}",
            [[frames.file(X, label=label, scale=scale, seed=s, step=i) for s in seeds] for i in range(steps + 1)],
        )
        for label in labels
        for scale in scales
    ]
    finals = frames_table(
        "finals",
        [frames.get(X, label=c, scale=w, seed=s, step=steps) for c in labels for w in scales for s in seeds],
    )
    return [
        Offer(
            "this class and scale: every seed's xₜ", movies, (Axis("label", len(labels)), Axis("scale", len(scales)))
        ),
        Offer("every final's class and probability", [finals]),
    ]
