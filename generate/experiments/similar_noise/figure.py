"""Similar noise, the site side: per seed n1, o1 and four frames per variant (and the DDIM step count,
which live mode samples with); the two lessons' facts."""

from __future__ import annotations

import json
import math
import statistics

import numpy as np

from ...shipped import SHIPPED_DIR
from ...toolkit.cards import training_set as card_training_set
from ...toolkit.contract import Animation, Axis, Offer
from ...toolkit.frames import Frames, axis
from ...toolkit.measures import pixels
from ...toolkit.tables import frames_table
from . import MIX_PANELS, PATCH_PANELS, stats
from .distance import typical_distance

CELL_PANELS = ("n2", "o2", "heat_noise", "heat_out")  # what the figure shows of each variant


def _pair_cell(frames: Frames, panels: dict, queue: list, **coords) -> dict:
    """One variant cell: its four frames (queued for the sheet) and distances."""
    cell = {}
    for name in CELL_PANELS:
        cell[name] = len(queue)
        queue.append(frames.file(panels[name], **coords))
    metrics = frames.get(panels["n2"], **coords).get("metrics", {})
    cell["noise_distance"] = metrics.get("noise_distance")
    cell["output_distance"] = metrics.get("output_distance")
    # the trajectories' distances, rounded for the chart (hundredths of a distance of 10 to 50); None in older runs
    for key in ("x_gap", "x0_gap"):
        cell[key] = [round(v, 2) for v in metrics[key]] if metrics.get(key) else None
    return cell


def _pair_seed(frames: Frames, panels: dict, sheets, seed: int, group: int, variants: list[dict]) -> dict:
    """Per seed: n1, o1, then four frames per variant (grey and colour sheets); indices become frame refs."""
    queue = [frames.file(panels["n1"], seed=seed), frames.file(panels["o1"], seed=seed)]
    cells = [_pair_cell(frames, panels, queue, seed=seed, **variant) for variant in variants]
    refs = sheets.add(queue, track=f"seed {seed}", group=group)
    for cell in cells:
        for name in CELL_PANELS:
            cell[name] = refs[cell[name]]
    return {"seed": seed, "n1": refs[0], "o1": refs[1], "cells": cells}


def heat_scales(run) -> dict:
    """Where each heatmap's colour scale saturates (the precompute's choice, read back for the colour bar)."""
    axes = run.manifest["axes"]
    return {"noise": float(axes.get("noise_heat_scale", 2.0)), "output": float(axes.get("output_heat_scale", 1.0))}


def build_patch(run, sheets) -> dict:
    frames, panels = Frames(run), {p.name: p for p in PATCH_PANELS}
    sizes, positions = [int(s) for s in axis(run, "sizes")], [[int(x), int(y)] for x, y in axis(run, "positions")]
    variants = [{"size": s, "x": x, "y": y} for s in sizes for x, y in positions]
    seeds = [_pair_seed(frames, panels, sheets, seed, i, variants) for i, seed in enumerate(axis(run, "seeds"))]
    return {
        "sizes": sizes,
        "positions": positions,
        "image_size": axis(run, "image_size"),
        "variants": variants,
        "seeds": seeds,
        "heat_scales": heat_scales(run),
        "steps": int(axis(run, "steps")),
    }


def build_mix(run, sheets) -> dict:
    frames, panels = Frames(run), {p.name: p for p in MIX_PANELS}
    scales = [float(s) for s in axis(run, "scales")]
    seeds = [
        _pair_seed(frames, panels, sheets, seed, i, [{"scale": s} for s in scales])
        for i, seed in enumerate(axis(run, "seeds"))
    ]
    return {"scales": scales, "seeds": seeds, "heat_scales": heat_scales(run), "steps": int(axis(run, "steps"))}


# -- the lessons' facts ---------------------------------------------------------------------------
# Distances are the manifest's float metrics, measured at precompute time on the float noises and the
# clamped float outputs (pairs.py), never re-read from 8-bit PNGs: a noise PNG clips at ±1, which
# would shrink a noise distance of about 45 to about 32. Only where the change lies within the image
# (inside or outside the patch) is read from the output frames, |o1 - o2| per pixel.

CLOSE = 0.25  # an output within this share of the typical distance keeps its picture ("close")
PARTS = 0.5  # an output at least this share of the typical distance away has become another picture
FEW_TRAINING_IMAGES = 1000  # fewer: little variety, say so where it matters (the overview's SMALL_TRAINING_SET)


def _pairs(run) -> dict[int, list[dict]]:
    """Per seed, each variant's coords and metrics (from its n2 frame), in the manifest's order."""
    cells: dict[int, list[dict]] = {}
    for f in run.manifest["frames"]:
        if f["coords"].get("panel") == "n2":
            coords = {k: v for k, v in f["coords"].items() if k not in ("panel", "seed")}
            cells.setdefault(int(f["coords"]["seed"]), []).append({**coords, **f["metrics"]})
    return cells


def _values(run) -> int:
    """d, the number of values of one image (C x H x W): the expected noise distances scale with it."""
    first = next(f for f in run.manifest["frames"] if f["coords"].get("panel") == "n1")
    return int(pixels(run, first).size)


def training_set(slug: str) -> dict | None:
    """What a shipped model learnt from: its number of training images (site.cards reads its
    training.json, as the overview does) and the median RMS distance (0 to 255) from its card's
    samples to their nearest training image (card.json). None for a model this project did not train."""
    folder = SHIPPED_DIR / slug
    known = card_training_set(folder)
    if not known:
        return None
    try:
        nearest = json.loads((folder / "card.json").read_text(encoding="utf-8")).get("nearest_rms_distance") or []
    except (OSError, ValueError, AttributeError):
        nearest = []
    return {
        "images": known["train_images"],
        "dataset": known["dataset"],
        "few": known["train_images"] < FEW_TRAINING_IMAGES,
        "nearest_median": statistics.median(nearest) if nearest else None,
    }


def unrelated_end_shares(mix) -> list[float]:
    """The baseline of "closer together than they started": two unrelated start noises (the mix run at
    s = 1: n2 is a fresh noise) end their DDIM trajectories this share of their start distance apart
    (per seed, ||x_0(n1) - x_0(n2)|| / ||n1 - n2||, the per-step x_t distances' last over first).
    Every trajectory shrinks, from noise of spread 1 to a picture in [-1, 1], so nearby starts ending
    closer than they started says nothing until it is compared with these."""
    if mix is None:
        return []
    return [
        c["x_gap"][-1] / c["x_gap"][0]
        for cells in _pairs(mix).values()
        for c in cells
        if float(c.get("scale", -1)) == 1.0 and c.get("x_gap") and c["x_gap"][0] > 0
    ]


def versus_unrelated(shares: list[float], unrelated: list[float]) -> str | None:
    """Nearby starts' end shares against unrelated ones' (stats.rank_sum): "closer" or "further" where
    the test tells them apart, else "same"; None without both."""
    if not shares or not unrelated:
        return None
    test = stats.rank_sum(shares, unrelated)
    return "same" if not test["differ"] else ("closer" if test["lower"] else "further")


def _shared(run, mix) -> dict:
    """What both lessons quote: the typical distance (one definition, claims.typical_distance), the
    DDIM steps, the heatmaps' colour scales, the seeds, the model's training set (its caveat), and the
    unrelated starts' end share (the baseline of how far two trajectories end apart)."""
    unrelated = unrelated_end_shares(mix)
    return {
        "typical": typical_distance(mix),
        "unrelated_shares": unrelated,  # each unrelated pair's end share, the rank tests' baseline
        "unrelated_end_share": statistics.median(unrelated) if unrelated else None,
        "unrelated_pairs": len(unrelated),
        "steps": int(run.manifest["axes"]["steps"]),
        "heat": heat_scales(run),
        "seeds": len(run.manifest["axes"]["seeds"]),
        "d": _values(run),
        "training": training_set(run.manifest["model"]["slug"]),
    }


def patch_facts(run, runs: dict) -> dict:
    """Per patch size (pixels): how far the noise and the output move, and where in the image the
    output change lies: its share outside the square (from |o1 - o2| of the output frames, channel
    mean) next to the share of pixels outside it, and the change per pixel inside over that outside.
    Does a larger patch at the same place move the output further: a count with its coin baseline."""
    axes, index = run.manifest["axes"], Frames(run)
    o1_, o2_ = PATCH_PANELS[1], PATCH_PANELS[3]
    side, sizes = int(axes["image_size"]), sorted(int(s) for s in axes["sizes"])
    facts = _shared(run, runs.get("mix_noise"))
    rows, larger_more, pairs_ = [], 0, 0
    by_cell = {
        (seed, int(c["size"]), int(c["x"]), int(c["y"])): c for seed, cells in _pairs(run).items() for c in cells
    }
    for size in sizes:
        outside_shares, ratios, noise, output, kept = [], [], [], [], []
        for seed in axes["seeds"]:
            o1 = pixels(run, index.get(o1_, seed=seed))
            for x, y in axes["positions"]:
                cell = by_cell[(seed, size, x, y)]
                noise.append(cell["noise_distance"])
                output.append(cell["output_distance"])
                if cell.get("x_gap"):  # the x_t distance at the end over that at the start (older runs: none)
                    kept.append(cell["x_gap"][-1] / cell["x_gap"][0])
                change = np.abs(pixels(run, index.get(o2_, seed=seed, size=size, x=x, y=y)) - o1).mean(axis=2)
                inside = np.zeros(change.shape, dtype=bool)
                inside[y : y + size, x : x + size] = True
                if change.sum() > 0 and change[~inside].sum() > 0:
                    outside_shares.append(float(change[~inside].sum() / change.sum()))
                    ratios.append(float(change[inside].mean() / change[~inside].mean()))
        rows.append(
            {
                "size": size,
                "cells": len(noise),
                "pixels_outside": 1 - size * size / (side * side),
                "change_outside": statistics.median(outside_shares) if outside_shares else None,
                "ratio": statistics.median(ratios) if ratios else None,
                "noise_distance": statistics.fmean(noise),
                # E||n1 - n2||^2 = 2 C size^2: the square's values differ by two independent N(0, 1) draws
                "noise_expected": math.sqrt(2 * facts["d"] / (side * side) * size * size),
                "output_distance": statistics.median(output),
                # pairs whose pictures part: at least PARTS of the typical distance apart
                "parted": sum(d >= PARTS * facts["typical"] for d in output) if facts["typical"] else None,
                # how the trajectories end: closer together than they started (DDIM pulls them together)?
                "together": sum(k < 1 for k in kept) if kept else None,
                "end_share": statistics.median(kept) if kept else None,
                # against unrelated starts: a rank test of this size's pairs against theirs
                "vs_unrelated": versus_unrelated(kept, facts["unrelated_shares"]),
            }
        )
    for seed in axes["seeds"]:
        for x, y in axes["positions"]:
            distances = [by_cell[(seed, size, x, y)]["output_distance"] for size in sizes]
            for a, b in zip(distances, distances[1:]):
                pairs_ += 1
                larger_more += b > a
    ratios = [r["ratio"] for r in rows if r["ratio"] is not None]
    ends = [r["end_share"] for r in rows]
    return {
        **facts,
        "side": side,
        "parts": PARTS,
        "pulled_together": None not in ends and all(e < 1 for e in ends),
        # against unrelated starts (the baseline), by a rank test (p < stats.CHANCE): which sizes end
        # relatively closer, which further apart, which the test cannot tell from them. A median a few
        # per cent from the baseline's is no difference (fashion-32's unrelated pairs: 0.24 to 0.59).
        "relatively_closer": [r["size"] for r in rows if r["vs_unrelated"] == "closer"],
        "relatively_further": [r["size"] for r in rows if r["vs_unrelated"] == "further"],
        "like_unrelated": [r["size"] for r in rows if r["vs_unrelated"] == "same"],
        "chance": stats.CHANCE,
        # the medians as the page prints them (whole per cent) rise with the patch: equal ones say nothing
        "larger_ends_further": None not in ends
        and all(round(100 * a) < round(100 * b) for a, b in zip(ends, ends[1:])),
        "channels": facts["d"] // (side * side),
        "positions": len(axes["positions"]),
        "rows": rows,
        "larger": stats.coin(larger_more, pairs_),
        # per pixel the change is larger inside the square (at every size) ...
        "denser_inside": bool(ratios) and all(r > 1 for r in ratios),
        "ratio_low": min(ratios, default=None),
        "ratio_high": max(ratios, default=None),
        # ... while most of it lies outside the square (at the smallest size, or at every size)
        "most_outside_smallest": rows[0]["change_outside"] is not None and rows[0]["change_outside"] > 0.5,
        "most_outside_everywhere": all(r["change_outside"] is not None and r["change_outside"] > 0.5 for r in rows),
    }


def mix_facts(mix, runs: dict) -> dict:
    """Per seed, the output distance at each s against the typical distance (two unrelated samples):
    up to which s every step keeps the picture close (below CLOSE of it); how the two trajectories
    part (`_trajectory_facts`); the noise distance at s = 1 against its expectation sqrt(2d); and the
    page's answers that need both runs (`_answers`)."""
    facts = _shared(mix, mix)
    typical, scales = facts["typical"], [float(s) for s in mix.manifest["axes"]["scales"]]
    curves = {seed: {float(c["scale"]): c for c in cells} for seed, cells in _pairs(mix).items()}
    small = min((s for s in scales if s > 0), default=None)
    close_until, close_at_small = [], 0
    for seed, curve in sorted(curves.items()):
        keep = 0.0
        for s in scales:
            if curve[s]["output_distance"] >= CLOSE * typical:
                break
            keep = s
        close_until.append(keep)
        close_at_small += small is not None and curve[small]["output_distance"] < CLOSE * typical
    fresh = [c[1.0]["noise_distance"] for c in curves.values() if 1.0 in c]
    nearby = [c[small]["noise_distance"] for c in curves.values() if small in c]
    middle = min(scales, key=lambda s: abs(s - 0.5)) if scales else None
    trajectories = _trajectory_facts(curves, small, typical)
    return {
        **facts,
        **trajectories,
        # nearby starts (the smallest s) against unrelated ones (s = 1), by the patch lesson's rank test
        "nearby_vs_unrelated": versus_unrelated(trajectories.get("shares_at_smallest", []), facts["unrelated_shares"]),
        "chance": stats.CHANCE,
        **_answers(mix, runs.get("patch_noise")),
        "scales": scales,
        "smallest_scale": small,
        "middle_scale": middle,
        "close": CLOSE,
        "close_at_smallest": close_at_small,
        "close_at_smallest_all": close_at_small == len(curves),
        # similar noise, similar picture for most seeds: at least three in four keep their picture
        "mostly_similar": bool(curves) and close_at_small * 4 >= 3 * len(curves),
        "close_until": close_until,
        "close_until_low": min(close_until, default=None),
        "close_until_high": max(close_until, default=None),
        "close_until_median": statistics.median(close_until) if close_until else None,
        "noise_at_smallest": statistics.fmean(nearby) if nearby else None,
        # E||n2 - n1||^2 = 2d (1 - sqrt(1 - s^2)) (the page's maths)
        "noise_expected_at_smallest": math.sqrt(2 * facts["d"] * (1 - math.sqrt(1 - small * small))) if small else None,
        "noise_at_fresh": statistics.fmean(fresh) if fresh else None,
        "noise_expected_at_fresh": math.sqrt(2 * facts["d"]),
    }


def _trajectory_facts(curves: dict[int, dict[float, dict]], small: float | None, typical: float | None) -> dict:
    """How the trajectories of n1 and n2 part, from the per-step distances (x_gap, x0_gap):
    - `together_at_smallest`: seeds whose x_t distance at the end is below its start at the smallest s
      (DDIM draws two nearby trajectories together);
    - a cell *parts* when its pictures end at least PARTS of the typical distance apart;
      `parting_median`: per seed the smallest s that parts, median over seeds;
    - `x0_parts_by`: for the parting cells, the first step at which the x0 estimates are 90 % as far
      apart as the final pictures, median over cells: when the other picture is decided."""
    gapped = {seed: curve for seed, curve in curves.items() if all(c.get("x_gap") for c in curve.values())}
    if not gapped or not typical:
        return {"gaps": False}
    parting, parts_by, together, shares = [], [], 0, []
    for seed, by_scale in sorted(gapped.items()):
        if small in by_scale and by_scale[small]["x_gap"][-1] < by_scale[small]["x_gap"][0]:
            together += 1
        if small in by_scale and by_scale[small]["x_gap"][0] > 0:
            shares.append(by_scale[small]["x_gap"][-1] / by_scale[small]["x_gap"][0])
        parts = [s for s, c in sorted(by_scale.items()) if s > 0 and c["output_distance"] >= PARTS * typical]
        if parts:
            parting.append(parts[0])
        for s in parts:
            x0, end = by_scale[s]["x0_gap"], by_scale[s]["x_gap"][-1]
            parts_by.append(next((i for i, g in enumerate(x0) if g >= 0.9 * end), len(x0)))
    return {
        "gaps": True,
        "together_at_smallest": together,
        # how far, as a share of where they started (median over seeds): to compare with unrelated starts
        "end_share_at_smallest": statistics.median(shares) if shares else None,
        "shares_at_smallest": shares,
        "gap_seeds": len(gapped),
        "parts": PARTS,
        "parting_median": statistics.median(parting) if parting else None,
        "parting_seeds": len(parting),
        "x0_parts_by": statistics.median(parts_by) if parts_by else None,
        "gap_steps": len(next(iter(next(iter(gapped.values())).values()))["x0_gap"]),
    }


def _answers(mix, patch) -> dict:
    """The mix page's closing answers, from the float distances of both runs: the correlation between
    noise and output distance (both runs together, and each alone); whether a patch change moves the
    output more than the mix curve of its seed at the same noise distance (a count with its coin
    baseline)."""
    mix_cells, patch_cells = _pairs(mix), _pairs(patch) if patch else {}
    points = lambda cells: [(c["noise_distance"], c["output_distance"]) for seed in cells.values() for c in seed]
    mixed, patched = points(mix_cells), points(patch_cells)
    r = lambda p: stats.pearson([a for a, _ in p], [b for _, b in p])
    larger = compared = 0
    for seed, cells in patch_cells.items():
        curve = sorted((c["noise_distance"], c["output_distance"]) for c in mix_cells.get(seed, []))
        for cell in cells:
            expected = stats.interpolate(curve, cell["noise_distance"]) if cell["noise_distance"] > 0 else None
            if expected is not None:
                compared += 1
                larger += cell["output_distance"] > expected
    return {
        "mix_points": len(mixed),
        "patch_points": len(patched),
        "r_all": r(mixed + patched),
        "r_mix": r(mixed),
        "r_patch": r(patched),
        "patch_vs_mix": stats.coin(larger, compared),
    }


FLIP_FPS = 1.0  # the notebook's flip: one second on each noise and its output


def _flips(run, panels: dict, variants: list[dict], name) -> tuple[list, list]:
    """Per seed and variant, the flip [n1 | o1] <-> [n2 | o2] (GIF, MP4); the pairs' distances (CSV)."""
    frames, seeds = Frames(run), axis(run, "seeds")
    flips = [
        Animation(
            f"seed{s}_{name(v)}_flip",
            [
                [frames.file(panels["n1"], seed=s), frames.file(panels["o1"], seed=s)],
                [frames.file(panels["n2"], seed=s, **v), frames.file(panels["o2"], seed=s, **v)],
            ],
            fps=FLIP_FPS,
        )
        for s in seeds
        for v in variants
    ]
    distances = frames_table("distances", [frames.get(panels["n2"], seed=s, **v) for s in seeds for v in variants])
    return flips, [distances]


def downloads_mix(run) -> list:
    panels, scales = {p.name: p for p in MIX_PANELS}, [float(s) for s in axis(run, "scales")]
    flips, tables = _flips(run, panels, [{"scale": s} for s in scales], lambda v: f"s{v['scale']:.2f}")
    axes = (Axis("seed", len(axis(run, "seeds"))), Axis("scale", len(scales)))
    return [Offer("the flip between n₁, n₂ and their outputs", flips, axes), Offer("every pair's distances", tables)]


def downloads_patch(run) -> list:
    panels = {p.name: p for p in PATCH_PANELS}
    sizes, positions = [int(s) for s in axis(run, "sizes")], [[int(x), int(y)] for x, y in axis(run, "positions")]
    variants = [{"size": s, "x": x, "y": y} for s in sizes for x, y in positions]
    flips, tables = _flips(run, panels, variants, lambda v: f"patch{v['size']}px_x{v['x']}_y{v['y']}")
    axes = (
        Axis("seed", len(axis(run, "seeds"))),
        Axis("size", len(sizes)),
        Axis("position", len(positions)),
    )
    return [Offer("the flip between n₁, n₂ and their outputs", flips, axes), Offer("every pair's distances", tables)]
