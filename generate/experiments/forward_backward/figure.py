"""Forward then backward, the site side: one track per level, the triangle mosaic, and the facts."""

from __future__ import annotations

import math

from ...site import mosaic
from ...streams import stream_seed
from ...site.claims import typical_distance
from ...site.downloads import frames_table
from ...site.figures import Frames, axis
from ..contract import Animation, Axis, Offer
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
            "diff_scale": float(run.manifest["axes"].get("diff_scale", 1.0)), "triangle": triangle,
            "live_noise": live_noise(run.manifest["config"], steps)}


def live_noise(cfg: dict, steps: int) -> dict:
    """The precompute's random streams (compute.py), for live mode to draw the very same numbers:
    the forward noise eps_k is row k of randn((rows, C, H, W)) from manual_seed(seed) (`per_level`),
    or, with noise = "source", the source's own start noise x_T (one row, the same for every level);
    DDPM's per-step noise of level k comes from manual_seed(ddpm_seeds[k])."""
    noise_seed = int(cfg.get("noise_seed", 0))
    forward = ({"seed": int(cfg.get("source_seed", 0)), "rows": 1, "per_level": False} if cfg.get("noise") == "source"
               else {"seed": stream_seed("forward_backward.noise", noise_seed), "rows": steps, "per_level": True})
    return dict(forward, ddpm_seeds=[stream_seed(f"forward_backward.ddpm.{k}", noise_seed) for k in range(steps)])


NEW_IMAGE_SHARE = 0.5  # "a different picture": at least half as far from the original as an unrelated sample


def tipping(curve: list[dict], typical: float | None) -> dict | None:
    """The notebook's question, "how much noise must be added before the result is a different
    picture?", read off the data: walking from the cleanest start level towards the noisiest, the
    first level whose reconstruction lies at least NEW_IMAGE_SHARE x typical from the original.
    None when no level gets there (or there is no typical distance to compare with)."""
    if typical is None:
        return None
    threshold = NEW_IMAGE_SHARE * typical
    for index in range(len(curve) - 1, -1, -1):  # curve runs noisiest first
        if curve[index]["distance"] >= threshold:
            noisier = curve[:index + 1]
            return dict(curve[index], threshold=threshold, levels_from_here=len(noisier),
                        different_from_here=sum(p["distance"] >= threshold for p in noisier))
    return None


def facts(run, runs: dict) -> dict:
    """Reconstruction distance to the original by start level, against the typical distance of two
    independent samples of the same model (the scale of "a new image"), and the level from which
    the reconstruction is a different picture."""
    records = {int(f["coords"]["level"]): f["metrics"] for f in run.manifest["frames"]
               if f["coords"].get("panel") == DIFF.name}
    distances = {k: m["distance"] for k, m in records.items()}
    levels = sorted(distances)
    curve = [{"level": k, "distance": distances[k], "alpha_bar": records[k].get("start_alpha_bar"),
              "timestep": records[k].get("start_timestep")} for k in levels]
    typical = typical_distance(runs.get("mix_noise"))
    noisiest, cleanest = distances[levels[0]], distances[levels[-1]]
    middle = distances[levels[len(levels) // 2]]
    return {"levels": levels, "noisiest": noisiest, "cleanest": cleanest, "middle": middle, "typical": typical,
            "curve": curve, "tipping": tipping(curve, typical), "steps": int(run.manifest["axes"]["steps"]),
            "chart": distance_chart(curve, typical),
            # a cousin, not a copy: clearly changed, yet much nearer the original than an unrelated sample
            "middle_is_cousin": typical is not None and 0.1 * typical < middle < 0.5 * typical,
            "noise": run.manifest["axes"].get("noise", "independent"),
            # a new image: at least half as far from the original as two independent samples are
            "noisiest_is_new": typical is not None and noisiest >= 0.5 * typical,
            "cleanest_is_close": typical is not None and cleanest <= 0.1 * typical}


def distance_chart(curve: list[dict], typical: float | None) -> str:
    """The distances as an SVG chart (static: it is part of the page's text, not of the figure):
    x the start level's signal share alpha_bar (noisiest on the left), y the distance to the original,
    a dashed line at an unrelated sample's distance and a dotted one at half of it."""
    W, H, left, right, top, bottom = 360, 190, 46, 12, 10, 38
    points = [(p["alpha_bar"], p["distance"]) for p in curve if p["alpha_bar"] is not None]
    if not points:
        return ""
    top_y = max([d for _, d in points] + ([typical] if typical else [])) * 1.08 or 1.0
    X = lambda a: left + a * (W - left - right)
    Y = lambda d: H - bottom - d / top_y * (H - top - bottom)
    parts = [f'<line class="nti-axis" x1="{left}" y1="{H - bottom}" x2="{W - right}" y2="{H - bottom}"/>',
             f'<line class="nti-axis" x1="{left}" y1="{top}" x2="{left}" y2="{H - bottom}"/>']
    for a in (0, 0.25, 0.5, 0.75, 1):
        parts.append(f'<text class="nti-chart-text" x="{X(a):.1f}" y="{H - bottom + 13}" text-anchor="middle">{a:g}</text>')
    parts.append(f'<text class="nti-chart-text" x="{(left + W - right) / 2:.1f}" y="{H - 6}" text-anchor="middle">'
                 'start level: signal share ᾱ (noisier to the left)</text>')
    for value in _ticks(top_y):
        parts.append(f'<line class="nti-grid" x1="{left}" y1="{Y(value):.1f}" x2="{W - right}" y2="{Y(value):.1f}"/>')
        parts.append(f'<text class="nti-chart-text" x="{left - 4}" y="{Y(value) + 3:.1f}" text-anchor="end">{value:g}</text>')
    if typical:
        for share, cls, words in ((1.0, "nti-fb-typical", "unrelated sample"), (NEW_IMAGE_SHARE, "nti-fb-half", "half of it")):
            parts.append(f'<line class="{cls}" x1="{left}" y1="{Y(share * typical):.1f}" x2="{W - right}" y2="{Y(share * typical):.1f}"/>')
            parts.append(f'<text class="nti-chart-text" x="{W - right - 2}" y="{Y(share * typical) - 3:.1f}" text-anchor="end">{words}</text>')
    line = " ".join(f"{X(a):.1f},{Y(d):.1f}" for a, d in points)
    parts.append(f'<polyline class="nti-series-mix-line" points="{line}"/>')
    parts += [f'<circle class="nti-series-mix" cx="{X(a):.1f}" cy="{Y(d):.1f}" r="2.2"/>' for a, d in points]
    label = ("Distance between reconstruction and original by start level: " +
             ", ".join(f"ᾱ {a:.2f}: {d:.1f}" for a, d in points[:: max(1, len(points) // 8)]) +
             (f"; an unrelated sample lies {typical:.1f} away" if typical else ""))
    return (f'<svg class="nti-chart nti-fb-chart" viewBox="0 0 {W} {H}" role="img" aria-label="{label}">'
            + "".join(parts) + "</svg>")


def _ticks(top: float) -> list[float]:
    """Round ticks from 0 to `top`: steps of 1, 2, 2.5 or 5 x 10^k, about four of them."""
    raw = top / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return [round(i * step, 10) for i in range(int(top / step) + 1)]


def downloads(run) -> list:
    """Per start level: its row, the original beside the image denoised step by step (GIF, MP4);
    and every level's start and reconstruction distance (CSV)."""
    frames, steps, levels = Frames(run), int(axis(run, "steps")), [int(k) for k in axis(run, "levels")]
    original = frames.file(ORIGINAL)
    rows = [Animation(f"level{k:04d}_row", [[original, frames.file(X, level=k, step=j)] for j in range(steps - k + 1)])
            for k in levels]
    distances = frames_table("distances", [frames.get(DIFF, level=k) for k in levels])
    return [Offer("this start level's row", rows, (Axis("level", len(levels), fraction=True),)),
            Offer("every start level's distance to the original", [distances])]
