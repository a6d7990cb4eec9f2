"""Noise schedules, the site side: the curves (from the manifest's axes), per source the clean image,
its noised versions under both schedules and the two x0 estimates at every level, and the facts
the page words.

The facts quote the closed-form thresholds the precompute wrote (first t below 0 dB and -20 dB,
steps below -20 dB) and the errors measured at the noisiest level: for the image the page's steps
show (the first source, as the figure's captions give them) and the mean over the sources (the
table, which says so). An RMS error is on the pixel scale -1 .. 1; its baseline is `grey_rms`, the
error of an all-grey guess (every pixel 0), which is the clean image's own RMS.
"""

from __future__ import annotations

import math
import statistics

import numpy as np

from ...toolkit.frames import Frames, axis
from ...toolkit.measures import pixels
from . import NAMES, NOISED, SOURCE, X0_EPS, X0_V

ESTIMATES = (X0_V, X0_EPS)
BLOWS_UP = 10.0  # "the eps estimate is ruined": its error is at least this many times the v estimate's


def build(run, sheets) -> dict:
    frames = Frames(run)
    kinds, levels = axis(run, "schedules"), axis(run, "levels")
    sources = []
    for index, seed in enumerate(axis(run, "sources")):
        tracks, errors = {}, {}
        for kind in kinds:
            tracks[kind], errors[kind] = {}, {}
            for panel in (NOISED, *ESTIMATES):
                records = [frames.get(panel, schedule=kind, source=seed, t=t) for t in levels]
                # one sheet per (source, schedule, panel): a view shows one cell of six of them
                tracks[kind][panel.name] = sheets.add(
                    [r["file"] for r in records], track=f"s{seed} {kind} {panel.name}", group=index
                )
                if panel is not NOISED:
                    errors[kind][panel.name] = [r["metrics"]["rms_error"] for r in records]
        source = sheets.add([frames.file(SOURCE, source=seed)], track=f"s{seed} source", group=index)[0]
        sources.append({"seed": seed, "source": source, "tracks": tracks, "rms": errors})
    return {
        "schedules": [{"kind": k, "name": NAMES.get(k, k)} for k in kinds],
        "levels": levels,
        "model_schedule": axis(run, "model_schedule"),
        "prediction": axis(run, "prediction"),
        "measured_panel": run.manifest["axes"].get("measured_panel"),
        "curves": axis(run, "curves"),
        "at_levels": axis(run, "at_levels"),
        "steps": axis(run, "steps"),
        "seeds": sources,
    }


def amplification(ab: float) -> float:
    """What an eps target multiplies its error by in x0: sqrt((1 - ab) / ab)."""
    return math.sqrt((1 - ab) / ab)


def facts(run, runs: dict) -> dict:
    """What the page may say, each computed from the run:
    - per schedule: alpha_bar and SNR (dB) at the last step, the first t below 0 dB and -20 dB, the
      share of the steps below -20 dB, and at the noisiest level shown the amplification
      sqrt((1 - ab) / ab), the mean RMS error (over sources) of both x0 estimates and of the
      network's own answer (delta), the eps precision that x0 estimate would need
      (sqrt(ab) delta), and the first level shown where the eps estimate's error passes 1;
    - `linear_drowns_sooner`: linear's SNR falls below 0 dB at an earlier t than cosine's;
    - `linear_wastes_more`: linear has more steps below -20 dB than cosine;
    - `eps_ruined`: under both schedules, at the noisiest level, the eps estimate's error is at least
      BLOWS_UP times the v estimate's, and larger than the largest pixel value (1);
    - `model_is_cosine_v`: the model's own schedule is cosine and it predicts v;
    - `shown`: the first source's seed, its errors at the noisiest level per schedule (what the
      figure's captions show when the steps put it on screen) and `grey_rms`, the error of an
      all-grey guess of it; `grey_rms_mean` the same over the sources."""
    frames = Frames(run)
    kinds, levels, seeds = axis(run, "schedules"), axis(run, "levels"), axis(run, "sources")
    curves, thresholds, steps = axis(run, "curves"), axis(run, "thresholds"), axis(run, "steps")
    top = levels[-1]
    rows = {}
    for kind in kinds:
        at_top = {p.name: [frames.get(p, schedule=kind, source=s, t=top)["metrics"] for s in seeds] for p in ESTIMATES}
        ab_top = frames.get(NOISED, schedule=kind, source=seeds[0], t=top)["metrics"]["alpha_bar"]
        th = thresholds[kind]
        rows[kind] = {
            "kind": kind,
            "name": NAMES.get(kind, kind),
            "alpha_bar_last": curves["alpha_bar"][kind][-1],
            "snr_db_last": curves["snr_db"][kind][-1],
            "t_0db": th["first_below_db"]["0"],
            "t_minus_20db": th["first_below_db"]["-20"],
            "below_minus_20db": th["steps_below_minus_20_db"],
            "share_below_minus_20db": th["steps_below_minus_20_db"] / th["steps"],
            "alpha_bar_top": ab_top,
            "amplification_top": amplification(ab_top),
            "v_rms_top": statistics.fmean(m["rms_error"] for m in at_top[X0_V.name]),
            "eps_rms_top": statistics.fmean(m["rms_error"] for m in at_top[X0_EPS.name]),
            "delta_rms_top": statistics.fmean(m["delta_rms"] for m in at_top[X0_V.name]),
        }
        # the precision an eps answer would need for the x0 estimate the model's v answer gives:
        # eps_hat - eps = sqrt(ab) (v_hat - v), so sqrt(ab) times the measured error
        rows[kind]["eps_needed_top"] = math.sqrt(ab_top) * rows[kind]["delta_rms_top"]
        # the first level shown where the what-if eps estimate is off by more than the pixel range's half (1)
        eps_mean = [
            statistics.fmean(frames.get(X0_EPS, schedule=kind, source=s, t=t)["metrics"]["rms_error"] for s in seeds)
            for t in levels
        ]
        rows[kind]["eps_over_1_from"] = next((t for t, e in zip(levels, eps_mean) if e > 1.0), None)
        rows[kind]["ratio_top"] = (
            rows[kind]["eps_rms_top"] / rows[kind]["v_rms_top"] if rows[kind]["v_rms_top"] else None
        )
    first = seeds[0]
    shown = {"seed": first, "grey_rms": _grey_rms(run, frames, first)}
    for kind in kinds:
        shown[NAMES.get(kind, kind)] = {
            p.name: frames.get(p, schedule=kind, source=first, t=top)["metrics"]["rms_error"] for p in ESTIMATES
        }
    lin, cos = rows.get("linear"), rows.get("squaredcos_cap_v2")
    both = lin is not None and cos is not None
    model_schedule, prediction = axis(run, "model_schedule"), axis(run, "prediction")
    return {
        "schedules": rows,
        "linear": lin,
        "cosine": cos,
        "steps": steps,
        "top": top,
        "sources": len(seeds),
        "model_schedule": NAMES.get(model_schedule, model_schedule),
        "prediction": prediction,
        "linear_drowns_sooner": both
        and lin["t_0db"] is not None
        and (cos["t_0db"] is None or lin["t_0db"] < cos["t_0db"]),
        "linear_wastes_more": both and lin["below_minus_20db"] > cos["below_minus_20db"],
        "eps_ruined": all(
            r["ratio_top"] is not None and r["ratio_top"] >= BLOWS_UP and r["eps_rms_top"] > 1.0 for r in rows.values()
        ),
        "blows_up": BLOWS_UP,
        "shown": shown,
        "grey_rms_mean": statistics.fmean(_grey_rms(run, frames, seed) for seed in seeds),
        "model_is_cosine_v": model_schedule == "squaredcos_cap_v2" and prediction == "v_prediction",
    }


def _grey_rms(run, frames: Frames, seed: int) -> float:
    """RMS error of an all-grey guess (every pixel 0, the middle of -1 .. 1) of a clean source image."""
    return float(np.sqrt(np.mean(pixels(run, frames.get(SOURCE, source=seed)) ** 2)))
