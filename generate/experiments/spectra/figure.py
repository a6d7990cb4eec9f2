"""Coarse to fine, the site side: the mean spectra per step for the chart, each seed's frames, and
the facts the page words.

Two measurements, both per frequency k (cycles per image):
- **above the noise** at step i: the signal in x_t, sqrt(alpha_bar) x_0, has power alpha_bar P_0(k)
  (P_0: the final images' spectrum); the noise, sqrt(1 - alpha_bar) eps, has 1 - alpha_bar at every k.
  `above[i]` counts the frequencies from k = 1 up to where the signal first falls below the noise.
- **settled** at step i: the x0 estimate's error, x0_i - final, has at most SETTLED of the final's
  power at k (an amplitude within 10 %) from step i to the end. `settle[k]` is that first step.
- **late change**: what the estimate still changes in the last LATE share of the steps (two at
  least), x0_i - final from step i = T - T * LATE on, and the share of that change's power in the faster half of the
  frequencies, against the final pictures' own share there (the baseline: a change spread like the
  picture would have the same share). The last estimate is the final image itself (DDIM's last step
  lands on its x0 estimate), so "the estimate meets the final" would say nothing.
Both are read off the frames (the pictures as shown) and the manifest's noise levels, not the
manifest's spectra, so the page's claims and the chart's lines come from two independent paths.
"""

from __future__ import annotations

import numpy as np

from ...toolkit.frames import Frames, axis
from ...toolkit.measures import pixels
from . import EPS, X0, X
from .spectrum import radial_power, ring_counts

SETTLED = 0.01  # error power within 1 % of the picture's: amplitude within 10 % (the reverse page's 90 %)
LATE = 0.2  # the last fifth of the steps: what the estimate still changes there
BLUR = 0.1  # the step-1 estimate "is a blur": under a tenth of the pictures' power in the faster half


def _mean_spectra(frames: Frames, panel, seeds: list[int], steps: range) -> list[list[float]]:
    return np.mean(
        [[frames.get(panel, seed=s, step=i)["metrics"]["spectrum"] for i in steps] for s in seeds], axis=0
    ).tolist()


def build(run, sheets) -> dict:
    frames, steps, seeds = Frames(run), int(axis(run, "steps")), axis(run, "seeds")
    alpha_bar = [float(a) for a in axis(run, "alpha_bar")]
    measured = measure(run)
    rows = []
    for index, seed in enumerate(seeds):
        track = {"track": f"seed {seed}", "group": index}
        rows.append(
            {
                "seed": seed,
                "x": sheets.add([frames.file(X, seed=seed, step=i) for i in range(steps + 1)], **track),
                "eps": sheets.add([frames.file(EPS, seed=seed, step=i) for i in range(steps)], **track),
                "x0": sheets.add([frames.file(X0, seed=seed, step=i) for i in range(steps)], **track),
            }
        )
    eps = _mean_spectra(frames, EPS, seeds, range(steps))
    return {
        "steps": steps,
        "timesteps": axis(run, "timesteps"),
        "alpha_bar": alpha_bar,
        "frequencies": axis(run, "frequencies"),
        "seeds": rows,
        "spectra": {
            "x": _mean_spectra(frames, X, seeds, range(steps)),
            "x0": _mean_spectra(frames, X0, seeds, range(steps)),
            # the noise inside x_t: sqrt(1 - alpha_bar) eps, power (1 - alpha_bar) P_eps
            "noise": [[(1 - a) * p for p in row] for a, row in zip(alpha_bar, eps)],
        },
        "clean": _mean_spectra(frames, X, seeds, range(steps, steps + 1))[0],
        "above": measured["above"],
        "settle": measured["settle"],
    }


_MEASURED: dict[tuple, dict] = {}  # one measurement of a run's frames per site build: build and facts share it


def measure(run) -> dict:
    """From the frames: the final images' mean spectrum, `above` per step and `settle` per frequency
    (measured once per run and set of frame files)."""
    key = (str(run.folder), tuple(f["file"] for f in run.manifest["frames"]))
    if key not in _MEASURED:
        _MEASURED.clear()
        _MEASURED[key] = _measure(run)
    return _MEASURED[key]


def _measure(run) -> dict:
    frames, steps, seeds = Frames(run), int(axis(run, "steps")), axis(run, "seeds")
    alpha_bar = np.array([float(a) for a in axis(run, "alpha_bar")])
    finals = np.stack([pixels(run, frames.get(X, seed=s, step=steps)) for s in seeds])
    clean = radial_power(finals).mean(axis=0)
    estimates = [np.stack([pixels(run, frames.get(X0, seed=s, step=i)) for i in range(steps)]) for s in seeds]
    errors = np.mean([radial_power(e - final) for e, final in zip(estimates, finals)], axis=0)  # (steps, K)
    power = np.mean([radial_power(e) for e in estimates], axis=0)  # the estimates' own spectra (steps, K)
    settled = errors <= SETTLED * clean
    # first step from which it stays settled: steps when even the last estimate is off
    settle = [next((i for i in range(steps) if settled[i:, k].all()), steps) for k in range(len(clean))]
    visible = alpha_bar[:, None] * clean[None, :] >= (1 - alpha_bar)[:, None]
    above = [int(np.argmin(row)) if not row.all() else len(row) for row in visible]
    covered = ~visible
    counts = ring_counts(finals.shape[1])
    late = max(0, steps - max(2, round(steps * LATE)))  # never the last step: its estimate is the final
    return {
        "clean": clean.tolist(),
        "settle": settle,
        "above": above,
        # where the noise covers a frequency, the estimate holds less power there than the picture
        "under_where_covered": float((power < clean[None, :])[covered].mean()) if covered.any() else None,
        # the estimate's power against the final's, median over the (step, k) pairs where the noise
        # covers the picture, and where the picture stands above it (the baseline)
        "ratio_covered": float(np.median((power / clean[None, :])[covered])) if covered.any() else None,
        "ratio_visible": float(np.median((power / clean[None, :])[visible])) if visible.any() else None,
        "start_ratio": (power[0] / clean).tolist(),  # estimate / final at step 1, per k
        # ... and over each half of the frequencies, as shares of power (ring means times ring sizes)
        "start_slow": _power_ratio(power[0], clean, counts, slice(0, len(clean) // 2)),
        "start_fast": _power_ratio(power[0], clean, counts, slice(len(clean) // 2, None)),
        "late_step": late,
        "late_fast_share": _fast_share(errors[late], counts),
        "picture_fast_share": _fast_share(clean, counts),
        # the size of that late change against the final pictures' (RMS, both about their means)
        "late_size": float(np.sqrt((errors[late] * counts).sum() / (clean * counts).sum())),
    }


def _power_ratio(spectrum: np.ndarray, reference: np.ndarray, counts: np.ndarray, band: slice) -> float | None:
    """An image's power in a band of frequencies over a reference image's power there."""
    total = float((reference * counts)[band].sum())
    return float((spectrum * counts)[band].sum()) / total if total > 0 else None


def _fast_share(spectrum: np.ndarray, counts: np.ndarray) -> float | None:
    """The share of an image's power (k >= 1) in the faster half of the frequencies, k > K / 2: each
    ring's mean power times its number of coefficients (Parseval). None for an image without power."""
    total = spectrum * counts
    return float(total[len(total) // 2 :].sum() / total.sum()) if total.sum() > 0 else None


def facts(run, runs: dict) -> dict:
    """What the page may say:
    - `settle` per frequency and the steps at which the coarsest (k = 1), a middle (k = K / 4) and the
      finest (k = K) waves settle; `coarse_first`: the low third of frequencies settles, on average,
      before the high third;
    - `above` per step and `floor_lifts`: it never falls as the steps go on (the noise uncovers the
      frequencies from coarse to fine, never the reverse); the first step with k = 1 above the noise,
      the first with half of the frequencies above it and the first with all of them;
    - step 1: the estimate's power against the final's in the slower and the faster half of the
      frequencies; `blur_at_start`: under BLUR of it in the faster half; `smoother_at_start`: a
      smaller share in the faster half than in the slower; `below_at_start`: under the final's at every k;
    - the estimate's power against the final's where the noise covers the picture and where it does
      not (medians over the steps and frequencies of each), and `under_where_covered`, the share of
      the covered pairs where it is lower;
    - the late change (module docstring): its step, its size and its share in the fast half against
      the picture's, and `late_is_fine`: at least twice the picture's share (fine detail is most of
      what is still changing, though the picture holds little of it)."""
    steps, ks = int(axis(run, "steps")), axis(run, "frequencies")
    measured = measure(run)
    settle, above = measured["settle"], measured["above"]
    third = max(1, len(ks) // 3)
    half = (len(ks) + 1) // 2
    middle = max(1, len(ks) // 4)
    return {
        "steps": steps,
        "seeds": len(axis(run, "seeds")),
        "frequencies": ks,
        "settle": settle,
        "above": above,
        "octaves": [k for k in ks if k & (k - 1) == 0],  # 1, 2, 4, ...: what the page's table shows
        # how steeply the final pictures' spectrum falls: its power at k = 1 over its power at k = K
        "clean_fall": measured["clean"][0] / measured["clean"][-1] if measured["clean"][-1] > 0 else None,
        "coarse": {"k": ks[0], "step": settle[0]},
        "middle": {"k": ks[middle - 1], "step": settle[middle - 1]},
        "fine": {"k": ks[-1], "step": settle[-1]},
        "coarse_first": float(np.mean(settle[:third])) < float(np.mean(settle[-third:])),
        "floor_lifts": all(b >= a for a, b in zip(above, above[1:])),
        "first_above": next((i for i, n in enumerate(above) if n >= 1), None),
        "half_above": next((i for i, n in enumerate(above) if n >= half), None),
        "half": half,
        "all_above": next((i for i, n in enumerate(above) if n >= len(ks)), None),
        "last_above": above[-1],
        "settled_share": SETTLED,
        # step 1: the estimate's power / the final's, in the slower and the faster half of the frequencies
        "start_slow": measured["start_slow"],
        "start_fast": measured["start_fast"],
        "fast_from": ks[len(ks) // 2],
        "blur_at_start": measured["start_fast"] is not None and measured["start_fast"] < BLUR,
        "smoother_at_start": None not in (measured["start_fast"], measured["start_slow"])
        and measured["start_fast"] < measured["start_slow"],
        "below_at_start": max(measured["start_ratio"]) < 1,  # ... and under the picture's at every k
        "under_where_covered": measured["under_where_covered"],
        "ratio_covered": measured["ratio_covered"],
        "ratio_visible": measured["ratio_visible"],
        "late_step": measured["late_step"],
        "late_size": measured["late_size"],
        "late_fast_share": measured["late_fast_share"],
        "picture_fast_share": measured["picture_fast_share"],
        "late_is_fine": None not in (measured["late_fast_share"], measured["picture_fast_share"])
        and measured["late_fast_share"] >= 2 * measured["picture_fast_share"],
        # x_t at step 1 is noise: its spectrum (manifest, float) within a factor 2 of flat
        "flat_start": _flat(Frames(run), axis(run, "seeds")),
    }


def _flat(frames: Frames, seeds: list[int]) -> bool:
    spectrum = np.mean([frames.get(X, seed=s, step=0)["metrics"]["spectrum"] for s in seeds], axis=0)
    return float(spectrum.max() / spectrum.min()) <= 2.0
