"""Answers to the similar-noise research questions, computed from the manifests' distances."""

from __future__ import annotations

import math


def pearson(xs: list[float], ys: list[float]) -> float | None:
    n = len(xs)
    if n < 3:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / math.sqrt(sxx * syy)


def _points(figure: dict | None) -> list[tuple[float, float]]:
    if not figure:
        return []
    return [(c["noise_distance"], c["output_distance"]) for s in figure["seeds"] for c in s["cells"]
            if isinstance(c.get("noise_distance"), (int, float)) and isinstance(c.get("output_distance"), (int, float))]


def _interpolate(curve: list[tuple[float, float]], x: float) -> float | None:
    """Output distance of the mix curve at noise distance x (linear between neighbours), None outside."""
    for (x0, y0), (x1, y1) in zip(curve, curve[1:]):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return None


def similar_noise(mix: dict | None, patch: dict | None) -> dict:
    """Correlation, noise-vs-output size, patch vs mix at equal noise distance, and the change that matters."""
    mix_points, patch_points = _points(mix), _points(patch)
    both = mix_points + patch_points
    result: dict = {"mix_points": len(mix_points), "patch_points": len(patch_points)}
    result["r_all"] = pearson([p[0] for p in both], [p[1] for p in both])
    result["r_mix"] = pearson([p[0] for p in mix_points], [p[1] for p in mix_points])
    result["r_patch"] = pearson([p[0] for p in patch_points], [p[1] for p in patch_points])
    nonzero = [p for p in both if p[0] > 0]
    result["noise_larger"] = sum(1 for x, y in nonzero if x > y)
    result["nonzero"] = len(nonzero)
    result["mean_ratio"] = (sum(y / x for x, y in nonzero) / len(nonzero)) if nonzero else None
    # patch vs mix: compare each patch cell with the same seed's mix curve at the same noise distance
    larger = compared = 0
    if mix and patch:
        curves = {s["seed"]: sorted((c["noise_distance"], c["output_distance"]) for c in s["cells"]) for s in mix["seeds"]}
        for seed in patch["seeds"]:
            curve = curves.get(seed["seed"])
            for cell in seed["cells"] if curve else []:
                if cell["noise_distance"] <= 0:
                    continue
                expected = _interpolate(curve, cell["noise_distance"])
                if expected is not None:
                    compared += 1
                    larger += cell["output_distance"] > expected
    result["patch_compared"], result["patch_larger"] = compared, larger
    # the smallest mixing scale whose output distance reaches half of that of a completely fresh noise
    thresholds = []
    if mix:
        for seed in mix["seeds"]:
            by_scale = sorted(zip(mix["scales"], seed["cells"]), key=lambda pair: pair[0])
            full = by_scale[-1][1]["output_distance"] if by_scale[-1][0] == 1.0 else None
            for scale, cell in by_scale:
                if full and cell["output_distance"] >= full / 2:
                    thresholds.append(scale)
                    break
    result["half_change_scale"] = (sum(thresholds) / len(thresholds)) if thresholds else None
    result.update(_spread("half_change", thresholds))
    # the same correlation per seed (its mix and patch pairs together): how much it varies with the seed
    patch_by_seed = {s["seed"]: s for s in (patch or {}).get("seeds", [])}
    per_seed_r = []
    for seed in (mix or {}).get("seeds", []):
        points = _points({"seeds": [seed]}) + _points({"seeds": [patch_by_seed[seed["seed"]]]} if seed["seed"] in patch_by_seed else None)
        r = pearson([p[0] for p in points], [p[1] for p in points])
        if r is not None:
            per_seed_r.append(r)
    result.update(_spread("r_seed", per_seed_r))
    return result


def _spread(name: str, values: list[float]) -> dict:
    """Lowest, median and highest of a per-seed quantity, and how many seeds it rests on."""
    ordered = sorted(values)
    if not ordered:
        return {f"{name}_low": None, f"{name}_median": None, f"{name}_high": None, f"{name}_seeds": 0}
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return {f"{name}_low": ordered[0], f"{name}_median": median, f"{name}_high": ordered[-1],
            f"{name}_seeds": len(ordered)}
