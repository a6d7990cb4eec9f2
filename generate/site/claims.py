"""What each lesson's text claims about its figure, computed from the runs the figure shows.

The pages word their claims from these numbers (and switch wording where the data say otherwise),
and tests/test_claims.py checks the claims against the default runs, so a sentence on the site
cannot silently contradict the figure beside it. Every function reads manifests (and, where a claim
is about what a frame looks like, the frame files themselves): torch is not needed.
"""

from __future__ import annotations

import statistics
import numpy as np
from PIL import Image

from .figures import Frames
from .runs import Run

EDGE_NOISE_CORRELATION = 0.1  # |r| at or above which the outline counts as visible in a noise frame


def _pixels(run: Run, record: dict) -> np.ndarray:
    """A frame as (H, W, C) floats in [-1, 1], as the figure shows it."""
    with Image.open(run.folder / record["file"]) as image:
        array = np.asarray(image, dtype=np.float64) / 127.5 - 1.0
    return array[..., None] if array.ndim == 2 else array


def _edges(image: np.ndarray) -> np.ndarray:
    """Gradient magnitude of the channel mean (central differences): where the picture has edges."""
    grey = image.mean(axis=2)
    gx, gy = np.zeros_like(grey), np.zeros_like(grey)
    gx[:, 1:-1] = grey[:, 2:] - grey[:, :-2]
    gy[1:-1] = grey[2:] - grey[:-2]
    return np.hypot(gx, gy)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


def _coarse(image: np.ndarray, block: int) -> np.ndarray:
    """The picture's large shapes: means over block x block squares, spread back to full size."""
    h, w, c = image.shape
    means = image[:h - h % block, :w - w % block].reshape(h // block, block, w // block, block, c).mean(axis=(1, 3))
    return np.repeat(np.repeat(means, block, axis=0), block, axis=1)


def settled_steps(x0_frames: list[np.ndarray], final: np.ndarray, share: float = 0.9) -> tuple[int, int]:
    """First step at which the x0 estimate has `share` of the final's coarse content right, and the
    first at which it has that share of its fine detail (what the coarse part leaves) right.

    Settled share of a band B at step i: 1 - ||B(x0_i - final)|| / ||B(final - mean)||, with B the
    block means (4 x 4 blocks: 8 x 8 shapes on a 32-px image) or the rest.
    """
    block = max(2, final.shape[0] // 8)
    crop = final.shape[0] - final.shape[0] % block
    final = final[:crop, :crop]
    low_ref = np.linalg.norm(_coarse(final - final.mean(), block))
    high_ref = np.linalg.norm(final - _coarse(final, block))
    low_at = high_at = len(x0_frames)
    for i, x0 in enumerate(x0_frames):
        d = x0[:crop, :crop] - final
        coarse = _coarse(d, block)
        if low_at == len(x0_frames) and 1 - np.linalg.norm(coarse) / max(low_ref, 1e-9) >= share:
            low_at = i
        if high_at == len(x0_frames) and 1 - np.linalg.norm(d - coarse) / max(high_ref, 1e-9) >= share:
            high_at = i
    return low_at, high_at


def reverse(run: Run) -> dict:
    """The predicted-noise panel at the first and the last step, per seed: its size (rms of the
    unclipped prediction, from the manifest) and the correlation of its magnitude with the edges of
    the seed's final image (from the frames): near 0 means plain noise, away from 0 the outline."""
    index, steps = Frames(run), int(run.manifest["axes"]["steps"])
    per_seed = []
    for seed in run.manifest["axes"]["seeds"]:
        final = _pixels(run, index.get(seed=seed, step=steps, panel="x"))
        edges = _edges(final)
        x0s = [_pixels(run, index.get(seed=seed, step=i, panel="x0")) for i in range(steps)]
        coarse_at, fine_at = settled_steps(x0s, final)
        row = {"seed": seed, "coarse_at": coarse_at, "fine_at": fine_at}
        for name, step in (("first", 0), ("last", steps - 1)):
            eps = index.get(seed=seed, step=step, panel="eps")
            row[f"{name}_rms"] = eps["metrics"]["rms"]
            row[f"{name}_edge_r"] = _correlation(np.abs(_pixels(run, eps)).mean(axis=2), edges)
        per_seed.append(row)
    median = {key: statistics.median(r[key] for r in per_seed)
              for key in ("first_rms", "last_rms", "first_edge_r", "last_edge_r", "coarse_at", "fine_at")}
    return {"seeds": per_seed, **median, "steps": steps,
            "coarse_first": all(r["coarse_at"] < r["fine_at"] for r in per_seed),
            "outline_visible": all(abs(r["last_edge_r"]) >= EDGE_NOISE_CORRELATION for r in per_seed),
            "plain_noise_first": all(abs(r["first_edge_r"]) < EDGE_NOISE_CORRELATION for r in per_seed)}


def step_counts(run: Run, mix: Run | None = None) -> dict:
    """Per step count: model calls, measured seconds, and the distance of its final image to the
    reference final (the largest count) for every seed; `typical` puts those distances to scale."""
    index = Frames(run)
    counts = sorted(int(n) for n in run.manifest["axes"]["steps"])
    seeds = run.manifest["axes"]["seeds"]
    rows = []
    for n in counts:
        distances = [index.get(steps=n, seed=s, panel="diff")["metrics"]["distance_to_reference"] for s in seeds]
        rows.append({"steps": n, "calls": n, "seconds": run.seconds_by_part.get(f"steps={n}"),
                     "distances": distances, "mean": statistics.fmean(distances),
                     "low": min(distances), "high": max(distances)})
    others = rows[:-1]
    # "fewer steps are worse": the mean distance to the reference never grows as the count grows
    monotone = all(a["mean"] >= b["mean"] for a, b in zip(others, others[1:]))
    typical = typical_distance(mix)
    return {"counts": counts, "reference": counts[-1], "rows": rows, "seeds": len(seeds), "typical": typical,
            "fewer_is_worse": monotone and bool(others) and others[0]["mean"] > others[-1]["mean"],
            # the fewest steps give a visibly other picture: at least a quarter of an unrelated sample's distance
            "fewest_visibly_different": bool(others) and typical is not None and others[0]["mean"] >= 0.25 * typical}


def typical_distance(mix: Run | None) -> float | None:
    """Mean distance between the outputs of two independent noises: the mix run at s = 1."""
    if mix is None:
        return None
    values = [f["metrics"]["output_distance"] for f in mix.manifest["frames"]
              if f["coords"].get("panel") == "o2" and float(f["coords"].get("scale", -1)) == 1.0]
    return statistics.fmean(values) if values else None


def forward_backward(run: Run, mix: Run | None) -> dict:
    """Reconstruction distance to the original by start level, against the typical distance of two
    independent samples of the same model (the scale of "a new image")."""
    distances = {int(f["coords"]["level"]): f["metrics"]["distance"] for f in run.manifest["frames"]
                 if f["coords"].get("panel") == "diff"}
    levels = sorted(distances)
    typical = typical_distance(mix)
    noisiest, cleanest = distances[levels[0]], distances[levels[-1]]
    middle = distances[levels[len(levels) // 2]]
    return {"levels": levels, "noisiest": noisiest, "cleanest": cleanest, "middle": middle, "typical": typical,
            # a cousin, not a copy: clearly changed, yet much nearer the original than an unrelated sample
            "middle_is_cousin": typical is not None and 0.1 * typical < middle < 0.5 * typical,
            "noise": run.manifest["axes"].get("noise", "independent"),
            # a new image: at least half as far from the original as two independent samples are
            "noisiest_is_new": typical is not None and noisiest >= 0.5 * typical,
            "cleanest_is_close": typical is not None and cleanest <= 0.1 * typical}


def similar_noise(mix: Run) -> dict:
    """Per seed, the output distance at each s as a share of that seed's s = 1 distance (a wholly new
    noise), and the largest s up to which every step keeps the picture close (share below 1/4)."""
    axes = mix.manifest["axes"]
    scales = [float(s) for s in axes["scales"]]
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
    return {"close_at_smallest": close_at_small,
            # similar noise, similar picture for most seeds: at least three in four keep their picture
            "mostly_similar": bool(shares) and close_at_small * 4 >= 3 * len(shares),
            "seeds": len(shares), "scales": scales, "close_until": close_until,
            "close_until_low": min(close_until, default=None), "close_until_high": max(close_until, default=None),
            "close_until_median": statistics.median(close_until) if close_until else None,
            "smallest_scale": small,
            "smallest_scale_close_everywhere": small is not None and all(sh[small] < 0.25 for sh in shares.values())}


def patch_noise(run: Run) -> dict:
    """Does a larger patch usually change the output more, and does the change reach beyond the
    square? Per (seed, position): the output distance by size; per cell: the share of the output
    heatmap's brightness (|o1 - o2|, from the frame) that lies outside the patch."""
    axes, index = run.manifest["axes"], Frames(run)
    sizes = sorted(int(s) for s in axes["sizes"])
    larger_more = pairs = 0
    outside_shares = []
    for seed in axes["seeds"]:
        for x, y in axes["positions"]:
            distances = []
            for size in sizes:
                heat = index.get(seed=seed, size=size, x=x, y=y, panel="heat_out")
                distances.append(heat["metrics"]["output_distance"])
                change = _pixels(run, heat).mean(axis=2) + 1.0  # viridis: darker = smaller change
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


def for_models(chosen: dict[tuple[str, str], Run]) -> dict[str, dict]:
    """Every lesson's facts, per model slug, for the runs the site shows."""
    facts: dict[str, dict] = {}
    for (slug, experiment), run in chosen.items():
        entry = facts.setdefault(slug, {})
        if experiment == "reverse":
            entry["reverse"] = reverse(run)
        elif experiment == "step_counts":
            entry["step_counts"] = step_counts(run, chosen.get((slug, "mix_noise")))
        elif experiment == "forward_backward":
            entry["forward_backward"] = forward_backward(run, chosen.get((slug, "mix_noise")))
        elif experiment == "mix_noise":
            entry["similar_noise"] = similar_noise(run)
        elif experiment == "patch_noise":
            entry["patch_noise"] = patch_noise(run)
    return facts

