"""Forward then backward, the site side: one track per level, the triangle mosaic, and the facts."""

from __future__ import annotations

import math

from ...streams import stream_seed
from ...toolkit.contract import Animation, Axis, Offer
from ...toolkit.frames import Frames, axis
from ...toolkit.tables import frames_table
from ..similar_noise.distance import typical_distance
from . import DIFF, ORIGINAL, VERDICT, X, mosaic


def build(run, sheets) -> dict:
    frames, steps = Frames(run), int(axis(run, "steps"))
    levels = []
    original = sheets.add([frames.file(ORIGINAL)], track="original")[0]
    for index, k in enumerate(axis(run, "levels")):
        k = int(k)
        track = sheets.add(
            [frames.file(X, level=k, step=j) for j in range(steps - k + 1)], track=f"level {k}", group=index
        )
        diff = frames.get(DIFF, level=k)
        # the difference heatmaps (colour) share one small sheet: one request rather than one per level
        levels.append(
            {
                "level": k,
                "frames": track,
                "diff": sheets.add([diff["file"]], track="diffs")[0],
                "distance": diff["metrics"].get("distance"),
                "timestep": diff["metrics"].get("start_timestep"),
                "alpha_bar": diff["metrics"].get("start_alpha_bar"),
            }
        )
    # the triangle as images: a subsampled grid the page shows, the whole one on request; written
    # beside the sheets (out_dir), so the build cache keeps them with the sheets
    triangle = mosaic.triangle(
        [level["level"] for level in levels],
        steps,
        sheets.size,
        lambda k, j: sheets.load(frames.file(X, level=k, step=j)),
        sheets.out_dir,
        sheets.url_prefix,
    )
    # every level's reconstruction in one picture, noisiest first: the page marks the ones it counts
    # as the same picture beside it (the marks come from the facts, which also know the typical distance)
    recons = mosaic.strip(
        [level["level"] for level in levels],
        sheets.size,
        lambda k: sheets.load(frames.file(X, level=k, step=steps - k)),
        sheets.out_dir,
        sheets.url_prefix,
    )
    # what each reconstruction matches (a class, or a training image), for the figure's info line
    classes = verdicts(run)
    for level in levels:
        verdict = classes.get(level["level"])
        level["match"] = verdict["match_name"] if verdict else None
    return {
        "steps": steps,
        "original": original,
        "levels": levels,
        "diff_scale": float(run.manifest["axes"].get("diff_scale", 1.0)),
        "triangle": triangle,
        "reconstructions": recons,
        "original_match": next(iter(classes.values()))["original_name"] if classes else None,
        "judge": (run.manifest["axes"].get("judge") or {}).get("method") if classes else None,
        "live_noise": live_noise(run.manifest["config"], steps),
    }


def live_noise(cfg: dict, steps: int) -> dict:
    """The precompute's random streams (compute.py), for live mode to draw the very same numbers:
    the forward noise eps_k is row k of randn((rows, C, H, W)) from manual_seed(seed) (`per_level`),
    or, with noise = "source", the source's own start noise x_T (one row, the same for every level);
    DDPM's per-step noise of level k comes from manual_seed(ddpm_seeds[k])."""
    noise_seed = int(cfg.get("noise_seed", 0))
    forward = (
        {"seed": int(cfg.get("source_seed", 0)), "rows": 1, "per_level": False}
        if cfg.get("noise") == "source"
        else {"seed": stream_seed("forward_backward.noise", noise_seed), "rows": steps, "per_level": True}
    )
    return dict(forward, ddpm_seeds=[stream_seed(f"forward_backward.ddpm.{k}", noise_seed) for k in range(steps)])


SAME_SHARE = (
    0.75  # "the same picture": it matches the original (judge.py), and lies nearer than 3/4 of an unrelated sample
)
CLOSE_SHARE = 0.1  # "almost the original": within a tenth of an unrelated sample


def verdicts(run) -> dict[int, dict]:
    """The half of the judgement that needed torch, per level, as the precompute recorded it
    (compute.py, judge.py): what the reconstruction matches and what the original matches, a class
    of the model's classifier (its name) or a training image ("training image #i"). Empty for a
    model that ships neither a classifier nor its training set."""
    judge = run.manifest["axes"].get("judge") or {}
    names = judge.get("classes") or []
    classified = judge.get("method") == "classifier"

    def name(index: int) -> str:
        if not classified:
            return f"training image #{index}"
        return names[index] if 0 <= index < len(names) else f"class {index}"

    out = {}
    for f in run.manifest["frames"]:
        if f["coords"].get("panel") == VERDICT.name:
            m = f["metrics"]
            out[int(f["coords"]["level"])] = {
                "match": int(m["match"]),
                "match_name": name(int(m["match"])),
                "original": int(m["original_match"]),
                "original_name": name(int(m["original_match"])),
                "same_match": bool(m["same_match"]),
            }
    return out


def judge(distance: float, verdict: dict | None, bound: float | None) -> bool | None:
    """The same picture: it matches the original (where the model has a judge) and lies within the
    bound. None without a typical distance to set the bound."""
    if bound is None:
        return None
    return distance < bound and (verdict is None or verdict["same_match"])


def tipping(curve: list[dict]) -> dict | None:
    """The notebook's question, "how much noise must be added before the result is a different
    picture?", read off the verdicts: walking from the cleanest start level towards the noisiest, the
    first level whose reconstruction is not the same picture, and how many of it and the noisier ones
    are different. `alone`: the start just noisier gives the same picture again, a flip on its own
    rather than where the pictures start to change; `next_level` is then the next noisier level
    judged different (None when there is none). None when every level gives the same picture (or
    nothing was judged)."""
    for index in range(len(curve) - 1, -1, -1):  # curve runs noisiest first
        if curve[index]["same"] is False:
            noisier = curve[: index + 1]
            alone = index > 0 and curve[index - 1]["same"] is True
            following = [p["level"] for p in curve[:index] if p["same"] is False]
            return dict(
                curve[index],
                levels_from_here=len(noisier),
                different_from_here=sum(p["same"] is False for p in noisier),
                alone=alone,
                next_level=following[-1] if alone and following else None,
            )
    return None


def facts(run, runs: dict) -> dict:
    """Reconstruction distance to the original by start level, against the typical distance of two
    independent samples of the same model (claims.typical_distance, one value site-wide), each
    level's verdict (the same picture or not: what it matches and the distance bound), and
    the level from which the reconstruction is a different picture."""
    records = {
        int(f["coords"]["level"]): f["metrics"] for f in run.manifest["frames"] if f["coords"].get("panel") == DIFF.name
    }
    classes = verdicts(run)
    typical = typical_distance(runs.get("mix_noise"))
    bound = SAME_SHARE * typical if typical is not None else None
    levels = sorted(records)
    curve = [
        {
            "level": k,
            "distance": records[k]["distance"],
            "alpha_bar": records[k].get("start_alpha_bar"),
            "timestep": records[k].get("start_timestep"),
            "match_name": classes[k]["match_name"] if k in classes else None,
            "same_match": classes[k]["same_match"] if k in classes else None,
            "same": judge(records[k]["distance"], classes.get(k), bound),
        }
        for k in levels
    ]
    noisiest, middle, cleanest = curve[0], curve[len(curve) // 2], curve[-1]
    judged = [p for p in curve if p["same"] is not None]
    judge_axes = run.manifest["axes"].get("judge") or {}
    return {
        "levels": levels,
        "steps": int(run.manifest["axes"]["steps"]),
        "typical": typical,
        "curve": curve,
        "noisiest": noisiest["distance"],
        "middle": middle["distance"],
        "cleanest": cleanest["distance"],
        "noisiest_point": noisiest,
        "middle_point": middle,
        "cleanest_point": cleanest,
        "noise": run.manifest["axes"].get("noise", "independent"),
        # the judgement (judge.py: "classifier", "nearest" training image, or "distance" alone) and
        # its baseline: how often the model's classifier is right on held-out images
        "judged_by": judge_axes.get("method", "classifier") if classes else "distance",
        "same_share": SAME_SHARE,
        "bound": bound,
        "original_match": next(iter(classes.values()))["original_name"] if classes else None,
        "classifier_accuracy": judge_axes.get("heldout_accuracy"),
        "classifier_classes": len(judge_axes.get("classes") or []) or None,
        "training_images": judge_axes.get("training_images"),
        "judged": len(judged),
        "same_count": sum(p["same"] for p in judged),
        "different_count": sum(not p["same"] for p in judged),
        "other_match_count": sum(p["same_match"] is False for p in curve),
        # what the bound alone would call the same picture: what the match adds to the distance
        "distance_only_same": sum(p["distance"] < bound for p in judged),
        "tipping": tipping(curve),
        "chart": distance_chart(curve, typical, bound),
        # a new image from the noisiest start: judged not the same picture
        "noisiest_is_new": noisiest["same"] is False,
        # the cleanest start: almost the original (within a tenth of an unrelated sample)
        "cleanest_is_close": typical is not None and cleanest["distance"] <= CLOSE_SHARE * typical,
        # a cousin, not a copy: still the same picture, yet clearly changed
        "middle_is_cousin": bool(middle["same"]) and typical is not None and middle["distance"] > CLOSE_SHARE * typical,
    }


def distance_chart(curve: list[dict], typical: float | None, bound: float | None) -> str:
    """The distances as an SVG chart (static: it is part of the page's text, not of the figure):
    x the start level (level 1, the noisiest, on the left: the levels that the question and the
    verdicts name; on a signal-share axis the noisiest levels' rings fell on one another), y the
    distance to the original, a dashed line at an unrelated sample's distance and a dotted one at the
    same-picture bound; a filled dot is a reconstruction judged the same picture, a ring one judged
    different."""
    W, H, left, right, top, bottom = 360, 190, 46, 12, 10, 38
    points = curve
    if not points:
        return ""
    last = max(max(p["level"] for p in points), 1)
    top_y = max([p["distance"] for p in points] + ([typical] if typical else [])) * 1.08 or 1.0
    X = lambda k: left + k / last * (W - left - right)  # k: the level's index, 0 = level 1
    Y = lambda d: H - bottom - d / top_y * (H - top - bottom)
    parts = [
        f'<line class="nti-axis" x1="{left}" y1="{H - bottom}" x2="{W - right}" y2="{H - bottom}"/>',
        f'<line class="nti-axis" x1="{left}" y1="{top}" x2="{left}" y2="{H - bottom}"/>',
    ]
    every = max(1, round(_ticks(last + 1, count=6)[1]))  # whole levels: every 10th of 50
    for level in sorted({1, *range(every, last + 2, every)}):
        parts.append(
            f'<text class="nti-chart-text" x="{X(level - 1):.1f}" y="{H - bottom + 13}"'
            f' text-anchor="middle">{level}</text>'
        )
    parts.append(
        f'<text class="nti-chart-text" x="{(left + W - right) / 2:.1f}" y="{H - 6}" text-anchor="middle">'
        f"start level (1 the noisiest, {last + 1} the cleanest)</text>"
    )
    for value in _ticks(top_y):
        parts.append(f'<line class="nti-grid" x1="{left}" y1="{Y(value):.1f}" x2="{W - right}" y2="{Y(value):.1f}"/>')
        parts.append(
            f'<text class="nti-chart-text" x="{left - 4}" y="{Y(value) + 3:.1f}" text-anchor="end">{value:g}</text>'
        )
    lines = ([(typical, "nti-fb-typical", "unrelated sample")] if typical else []) + (
        [(bound, "nti-fb-half", "same-picture bound")] if bound else []
    )
    for value, cls, words in lines:
        parts.append(f'<line class="{cls}" x1="{left}" y1="{Y(value):.1f}" x2="{W - right}" y2="{Y(value):.1f}"/>')
        parts.append(
            f'<text class="nti-chart-text" x="{W - right - 2}" y="{Y(value) - 3:.1f}" text-anchor="end">{words}</text>'
        )
    line = " ".join(f"{X(p['level']):.1f},{Y(p['distance']):.1f}" for p in points)
    parts.append(f'<polyline class="nti-series-mix-line" points="{line}"/>')
    for p in points:
        kind = {True: " nti-fb-pt-same", False: " nti-fb-pt-new"}.get(p["same"], "")
        parts.append(
            f'<circle class="nti-series-mix{kind}" cx="{X(p["level"]):.1f}" cy="{Y(p["distance"]):.1f}" r="2.4"/>'
        )
    label = (
        "Distance between reconstruction and original by start level: "
        + ", ".join(f"level {p['level'] + 1}: {p['distance']:.1f}" for p in points[:: max(1, len(points) // 8)])
        + (f"; an unrelated sample lies {typical:.1f} away" if typical else "")
        + (f"; the same-picture bound is {bound:.1f}" if bound else "")
    )
    return (
        f'<svg class="nti-chart nti-fb-chart" viewBox="0 0 {W} {H}" role="img" aria-label="{label}">'
        + "".join(parts)
        + "</svg>"
    )


def _ticks(top: float, count: int = 4) -> list[float]:
    """Round ticks from 0 to `top`: steps of 1, 2, 2.5 or 5 x 10^k, about `count` of them."""
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return [round(i * step, 10) for i in range(int(top / step) + 1)]


def downloads(run) -> list:
    """Per start level: its row, the original beside the image denoised step by step (GIF, MP4);
    and every level's start and reconstruction distance, and what it matches where judged (CSV)."""
    frames, steps, levels = Frames(run), int(axis(run, "steps")), [int(k) for k in axis(run, "levels")]
    original = frames.file(ORIGINAL)
    rows = [
        Animation(f"level{k:04d}_row", [[original, frames.file(X, level=k, step=j)] for j in range(steps - k + 1)])
        for k in levels
    ]
    distances = frames_table("distances", [frames.get(DIFF, level=k) for k in levels])
    offers = [
        Offer("this start level's row", rows, (Axis("level", len(levels)),)),
        Offer("every start level's distance to the original", [distances]),
    ]
    if verdicts(run):  # class or training-image indices; the manifest's axes.judge says which
        offers.append(
            Offer(
                "what every reconstruction matches (class or training image)",
                [frames_table("matches", [frames.get(VERDICT, level=k) for k in levels])],
            )
        )
    return offers
