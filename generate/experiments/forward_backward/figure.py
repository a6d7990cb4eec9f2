"""Forward then backward, the site side: one track per level, the triangle mosaic, and the facts."""

from __future__ import annotations

from ...site import mosaic
from ...site.claims import typical_distance
from ...site.figures import Frames, axis
from . import DIFF, ORIGINAL, X


def build(run, sheets) -> dict:
    frames, steps = Frames(run), int(axis(run, "steps"))
    levels = []
    original = sheets.add([frames.file(ORIGINAL)], track="original")[0]
    for index, k in enumerate(axis(run, "levels")):
        k = int(k)
        track = sheets.add([frames.file(X, level=k, step=j) for j in range(steps - k + 1)], track=f"level {k}", group=index)
        diff = frames.get(DIFF, level=k)
        # the difference heatmaps (colour) share one small sheet: one request rather than one per level
        levels.append({"level": k, "frames": track, "diff": sheets.add([diff["file"]], track="diffs")[0],
                       "distance": diff["metrics"].get("distance"),
                       "timestep": diff["metrics"].get("start_timestep"),
                       "alpha_bar": diff["metrics"].get("start_alpha_bar")})
    # the triangle as images: a subsampled grid the page shows, the whole one on request; written
    # beside the sheets (out_dir), so the build cache keeps them with the sheets
    triangle = mosaic.triangle([level["level"] for level in levels], steps, sheets.size,
                               lambda k, j: sheets.load(frames.file(X, level=k, step=j)), sheets.out_dir, sheets.url_prefix)
    return {"steps": steps, "original": original, "levels": levels,
            "diff_scale": float(run.manifest["axes"].get("diff_scale", 1.0)), "triangle": triangle}


def facts(run, runs: dict) -> dict:
    """Reconstruction distance to the original by start level, against the typical distance of two
    independent samples of the same model (the scale of "a new image")."""
    distances = {int(f["coords"]["level"]): f["metrics"]["distance"] for f in run.manifest["frames"]
                 if f["coords"].get("panel") == DIFF.name}
    levels = sorted(distances)
    typical = typical_distance(runs.get("mix_noise"))
    noisiest, cleanest = distances[levels[0]], distances[levels[-1]]
    middle = distances[levels[len(levels) // 2]]
    return {"levels": levels, "noisiest": noisiest, "cleanest": cleanest, "middle": middle, "typical": typical,
            # a cousin, not a copy: clearly changed, yet much nearer the original than an unrelated sample
            "middle_is_cousin": typical is not None and 0.1 * typical < middle < 0.5 * typical,
            "noise": run.manifest["axes"].get("noise", "independent"),
            # a new image: at least half as far from the original as two independent samples are
            "noisiest_is_new": typical is not None and noisiest >= 0.5 * typical,
            "cleanest_is_close": typical is not None and cleanest <= 0.1 * typical}
