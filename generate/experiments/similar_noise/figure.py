"""Similar noise, the site side: per seed n1, o1 and four frames per variant (and the DDIM step count,
which live mode samples with); the page's facts."""

from __future__ import annotations

import statistics

from ...site import stats
from ...site.claims import pixels
from ...site.downloads import frames_table
from ...site.figures import Frames, axis
from ..contract import Animation, Axis, Offer
from . import MIX_PANELS, PATCH_PANELS

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
    return {"sizes": sizes, "positions": positions, "image_size": axis(run, "image_size"),
            "variants": variants, "seeds": seeds, "heat_scales": heat_scales(run), "steps": int(axis(run, "steps"))}


def build_mix(run, sheets) -> dict:
    frames, panels = Frames(run), {p.name: p for p in MIX_PANELS}
    scales = [float(s) for s in axis(run, "scales")]
    seeds = [_pair_seed(frames, panels, sheets, seed, i, [{"scale": s} for s in scales])
             for i, seed in enumerate(axis(run, "seeds"))]
    return {"scales": scales, "seeds": seeds, "heat_scales": heat_scales(run), "steps": int(axis(run, "steps"))}


def mix_facts(mix, runs: dict) -> dict:
    """Per seed, the output distance at each s as a share of that seed's s = 1 distance (a wholly new
    noise), and the largest s up to which every step keeps the picture close (share below 1/4)."""
    scales = [float(s) for s in mix.manifest["axes"]["scales"]]
    by_seed: dict[int, dict[float, float]] = {}
    for f in mix.manifest["frames"]:
        if f["coords"].get("panel") == "o2":
            by_seed.setdefault(f["coords"]["seed"], {})[float(f["coords"]["scale"])] = f["metrics"]["output_distance"]
    close_until, shares = [], {}
    for seed, curve in sorted(by_seed.items()):
        full = curve.get(1.0)
        if not full:
            continue
        share = {s: curve[s] / full for s in scales}
        shares[seed] = share
        keep = 0.0
        for s in scales:
            if share[s] >= 0.25:
                break
            keep = s
        close_until.append(keep)
    small = min((s for s in scales if s > 0), default=None)
    close_at_small = sum(1 for sh in shares.values() if small is not None and sh[small] < 0.25)
    return {**_trajectory_facts(mix, small), "close_at_smallest": close_at_small,
            # similar noise, similar picture for most seeds: at least three in four keep their picture
            "mostly_similar": bool(shares) and close_at_small * 4 >= 3 * len(shares),
            "seeds": len(shares), "scales": scales, "close_until": close_until,
            "close_until_low": min(close_until, default=None), "close_until_high": max(close_until, default=None),
            "close_until_median": statistics.median(close_until) if close_until else None,
            "smallest_scale": small,
            "smallest_scale_close_everywhere": small is not None and all(sh[small] < 0.25 for sh in shares.values())}


def _trajectory_facts(mix, small: float | None) -> dict:
    """How the trajectories of n1 and n2 part, from the per-step distances (x_gap, x0_gap):
    - `together_at_smallest`: seeds whose x_t distance at the end is below its start at the smallest s
      (DDIM draws two nearby trajectories together);
    - a cell *parts* when its pictures end at least half as far apart as the seed's s = 1 pictures
      (unrelated noises); `parting_median`: per seed the smallest s that parts, median over seeds;
    - `x0_parts_by`: for the parting cells, the first step at which the x0 estimates are 90 % as far
      apart as the final pictures, median over cells: when the other picture is decided."""
    cells: dict[int, dict[float, dict]] = {}
    for f in mix.manifest["frames"]:
        if f["coords"].get("panel") == "n2" and f["metrics"].get("x_gap"):
            cells.setdefault(f["coords"]["seed"], {})[float(f["coords"]["scale"])] = f["metrics"]
    if not cells:
        return {"gaps": False}
    parting, parts_by, together = [], [], 0
    for seed, by_scale in sorted(cells.items()):
        fresh = by_scale.get(1.0, {}).get("output_distance")
        if small in by_scale and by_scale[small]["x_gap"][-1] < by_scale[small]["x_gap"][0]:
            together += 1
        if not fresh:
            continue
        parts = [s for s, m in sorted(by_scale.items()) if s > 0 and m["output_distance"] >= 0.5 * fresh]
        if parts:
            parting.append(parts[0])
        for s in parts:
            x0, end = by_scale[s]["x0_gap"], by_scale[s]["x_gap"][-1]
            parts_by.append(next((i for i, g in enumerate(x0) if g >= 0.9 * end), len(x0)))
    return {"gaps": True, "together_at_smallest": together, "gap_seeds": len(cells),
            "parting_median": statistics.median(parting) if parting else None, "parting_seeds": len(parting),
            "x0_parts_by": statistics.median(parts_by) if parts_by else None,
            "gap_steps": len(next(iter(next(iter(cells.values())).values()))["x0_gap"])}


def patch_facts(run, runs: dict) -> dict:
    """Does a larger patch usually change the output more, and does the change reach beyond the
    square? Per (seed, position): the output distance by size; per cell: the share of the output
    heatmap's brightness (|o1 - o2|, from the frame) that lies outside the patch."""
    axes, index, heat_out = run.manifest["axes"], Frames(run), PATCH_PANELS[5]
    sizes = sorted(int(s) for s in axes["sizes"])
    larger_more = pairs = 0
    outside_shares = []
    for seed in axes["seeds"]:
        for x, y in axes["positions"]:
            distances = []
            for size in sizes:
                heat = index.get(heat_out, seed=seed, size=size, x=x, y=y)
                distances.append(heat["metrics"]["output_distance"])
                change = pixels(run, heat).mean(axis=2) + 1.0  # viridis: darker = smaller change
                change -= change.min()
                total = float(change.sum())
                if total > 0:
                    inside = float(change[y:y + size, x:x + size].sum())
                    outside_shares.append(1.0 - inside / total)
            for a, b in zip(distances, distances[1:]):
                pairs += 1
                larger_more += b > a
    return {"pairs": pairs, "larger_more": larger_more,
            "larger_usually_more": pairs > 0 and larger_more * 2 > pairs,
            "outside_share": statistics.median(outside_shares) if outside_shares else None,
            "mostly_outside": bool(outside_shares) and statistics.median(outside_shares) > 0.5}


def page_context(figures: dict, facts: dict) -> dict:
    """The similar-noise page's answers per model: correlations and curves from both experiments."""
    by_slug = {m["slug"]: m for m in figures.get("patch_noise", [])}
    return {"similar": [{"label": mix["label"], "slug": mix["slug"],
                         **stats.similar_noise(mix, by_slug.get(mix["slug"])),
                         "facts": facts.get(mix["slug"], {}).get("mix_noise")}
                        for mix in figures.get("mix_noise", [])]}


FLIP_FPS = 1.0  # the notebook's flip: one second on each noise and its output


def _flips(run, panels: dict, variants: list[dict], name) -> tuple[list, list]:
    """Per seed and variant, the flip [n1 | o1] <-> [n2 | o2] (GIF, MP4); the pairs' distances (CSV)."""
    frames, seeds = Frames(run), axis(run, "seeds")
    flips = [Animation(f"seed{s}_{name(v)}_flip", [[frames.file(panels["n1"], seed=s), frames.file(panels["o1"], seed=s)],
                                                   [frames.file(panels["n2"], seed=s, **v), frames.file(panels["o2"], seed=s, **v)]],
                       fps=FLIP_FPS) for s in seeds for v in variants]
    distances = frames_table("distances", [frames.get(panels["n2"], seed=s, **v) for s in seeds for v in variants])
    return flips, [distances]


def downloads_mix(run) -> list:
    panels, scales = {p.name: p for p in MIX_PANELS}, [float(s) for s in axis(run, "scales")]
    flips, tables = _flips(run, panels, [{"scale": s} for s in scales], lambda v: f"s{v['scale']:.2f}")
    axes = (Axis("seed", len(axis(run, "seeds"))), Axis("scale", len(scales), fraction=True))
    return [Offer("the flip between n₁, n₂ and their outputs", flips, axes),
            Offer("every pair's distances", tables)]


def downloads_patch(run) -> list:
    panels = {p.name: p for p in PATCH_PANELS}
    sizes, positions = [int(s) for s in axis(run, "sizes")], [[int(x), int(y)] for x, y in axis(run, "positions")]
    variants = [{"size": s, "x": x, "y": y} for s in sizes for x, y in positions]
    flips, tables = _flips(run, panels, variants, lambda v: f"patch{v['size']}px_x{v['x']}_y{v['y']}")
    axes = (Axis("seed", len(axis(run, "seeds"))), Axis("size", len(sizes), fraction=True), Axis("position", len(positions)))
    return [Offer("the flip between n₁, n₂ and their outputs", flips, axes),
            Offer("every pair's distances", tables)]
