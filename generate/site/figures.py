"""Figure data: for every model, which manifest frame each slider position shows, plus the metrics.

One builder per experiment turns a validated manifest into a JSON-ready dict. Frames are referenced
as [sheet, cell, file]: `file` is the manifest's own path, so the page (and the tests) can say
exactly which manifest frame is on screen.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from pathlib import Path

from PIL import Image

from ..errors import UsageError
from .runs import Run
from .sprites import SheetWriter


class Frames:
    """Look frames up by their coords; a missing one is an error naming the manifest."""

    def __init__(self, run: Run):
        self.run = run
        self.by_coords = {self._key(f["coords"]): f for f in run.manifest["frames"]}

    @staticmethod
    def _key(coords: dict) -> tuple:
        return tuple(sorted((k, float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
                            for k, v in coords.items()))

    def get(self, **coords) -> dict:
        frame = self.by_coords.get(self._key(coords))
        if frame is None:
            raise UsageError(f"{self.run.path}: no frame with coords {coords}; the manifest is incomplete")
        return frame

    def file(self, **coords) -> str:
        return self.get(**coords)["file"]

    def metric(self, name: str, **coords):
        return self.get(**coords).get("metrics", {}).get(name)


def axis(run: Run, name: str) -> list | int | float:
    value = run.manifest["axes"].get(name)
    if value is None:
        raise UsageError(f"{run.path}: axes.{name} is missing")
    return value


def frame_size(run: Run) -> int:
    first = run.manifest["frames"][0]["file"] if run.manifest["frames"] else None
    if first is None:
        raise UsageError(f"{run.path}: the manifest lists no frames")
    with Image.open(run.folder / first) as im:
        return im.width


def model_info(run: Run, size: int) -> dict:
    model = run.manifest["model"]
    config = model.get("config") or {}
    return {"slug": model["slug"], "label": str(model.get("label") or model.get("id") or model["slug"]),
            "id": str(model.get("id", "")), "size": size, "channels": config.get("in_channels"),
            "run_key": run.manifest["run_key"], "scheduler": run.manifest["scheduler"].get("class", ""),
            "prediction": str((run.manifest["scheduler"].get("config") or {}).get("prediction_type", "epsilon"))}


def _snr(a: float) -> float | None:
    return a / (1 - a) if a < 1 else None


def reverse(run: Run, sheets: SheetWriter) -> dict:
    frames, steps = Frames(run), int(axis(run, "steps"))
    alpha_bar = [float(a) for a in axis(run, "alpha_bar")]
    seeds = []
    for index, seed in enumerate(axis(run, "seeds")):
        track = {"track": f"seed {seed}", "group": index}  # one seed's trajectory: all its panels together
        seeds.append({"seed": seed,
                      "x": sheets.add([frames.file(seed=seed, step=i, panel="x") for i in range(steps + 1)], **track),
                      "eps": sheets.add([frames.file(seed=seed, step=i, panel="eps") for i in range(steps)], **track),
                      "x0": sheets.add([frames.file(seed=seed, step=i, panel="x0") for i in range(steps)], **track)})
    return {"steps": steps, "timesteps": axis(run, "timesteps"), "alpha_bar": alpha_bar,
            "snr": [_snr(a) for a in alpha_bar], "seeds": seeds}


def progress_index(position: int, positions: int, steps: int) -> int:
    """Step of an n-step trajectory shown at slider position p of 0..P: nearest to progress p/P, ties up.

    Integer arithmetic so Python and JavaScript agree exactly: floor(p*n/P + 1/2).
    """
    return (2 * position * steps + positions) // (2 * positions)


MAX_POSITIONS = 200  # finer than the pixels of a slider track; see progress_positions


def progress_positions(counts: list[int]) -> int:
    """Positions P of the common progress slider.

    Up to MAX_POSITIONS, one position per step of the longest run. Beyond that a multiple of the
    shorter runs' step counts (so each of their steps is still reachable) of at least MAX_POSITIONS:
    the 1000-step run then ships only the frames at those positions (201 of 1001) instead of all.
    """
    top = max(counts)
    if top <= MAX_POSITIONS:
        return top
    base = math.lcm(*[n for n in counts if n < top]) if len(counts) > 1 else 1
    positions = base * math.ceil(MAX_POSITIONS / base)
    return positions if positions < top else top


def step_counts(run: Run, sheets: SheetWriter) -> dict:
    """Per seed and count: the trajectory at the slider's positions, and the final's difference to the
    reference (the largest count); per count: model calls and the measured seconds (run.json)."""
    frames, counts = Frames(run), sorted(int(n) for n in axis(run, "steps"))
    positions = progress_positions(counts)
    seeds = []
    for index, seed in enumerate(axis(run, "seeds")):
        tracks, finals = {}, {}
        for n in counts:
            shown = sorted({progress_index(p, positions, n) for p in range(positions + 1)})
            refs = sheets.add([frames.file(steps=n, seed=seed, step=i, panel="x") for i in shown],
                              track=f"seed {seed}, {n} steps", group=index)
            track = [None] * (n + 1)  # steps no slider position reaches are not shipped
            for i, ref in zip(shown, refs):
                track[i] = ref
            tracks[str(n)] = track
            diff = frames.get(steps=n, seed=seed, panel="diff")
            # every seed's difference heatmaps share one small colour sheet that the first view loads
            finals[str(n)] = {"diff": sheets.add([diff["file"]], track="diffs")[0],
                              "distance": diff["metrics"].get("distance_to_reference")}
        seeds.append({"seed": seed, "tracks": tracks, "finals": finals})
    seconds = [run.seconds_by_part.get(f"steps={n}") for n in counts]
    return {"counts": counts, "positions": positions, "seeds": seeds, "reference": counts[-1],
            "calls": counts, "seconds": seconds, "diff_scale": float(axis(run, "diff_scale"))}


def forward_backward(run: Run, sheets: SheetWriter) -> dict:
    frames, steps = Frames(run), int(axis(run, "steps"))
    levels = []
    original = sheets.add([frames.file(panel="original")], track="original")[0]
    for index, k in enumerate(axis(run, "levels")):
        k = int(k)
        track = sheets.add([frames.file(level=k, step=j) for j in range(steps - k + 1)], track=f"level {k}", group=index)
        diff = frames.get(level=k, panel="diff")
        # the difference heatmaps (colour) share one small sheet: one request rather than one per level
        levels.append({"level": k, "frames": track, "diff": sheets.add([diff["file"]], track="diffs")[0],
                       "distance": diff["metrics"].get("distance"),
                       "timestep": diff["metrics"].get("start_timestep"),
                       "alpha_bar": diff["metrics"].get("start_alpha_bar")})
    from . import mosaic  # the triangle as images: a subsampled grid the page shows, the whole one on request

    # written beside the sheets (out_dir), so the build cache keeps them with the sheets
    triangle = mosaic.triangle([level["level"] for level in levels], steps, sheets.size,
                               lambda k, j: sheets._load(frames.file(level=k, step=j)), sheets.out_dir, sheets.url_prefix)
    return {"steps": steps, "original": original, "levels": levels,
            "diff_scale": float(run.manifest["axes"].get("diff_scale", 1.0)), "triangle": triangle}


PAIR_PANELS = ("n2", "o2", "heat_noise", "heat_out")


def _pair_cell(frames: Frames, sheets_files: list, **coords) -> dict:
    """One variant cell of a noise-pair grid: its four frames (queued for the sheet) and distances."""
    cell = {}
    for panel in PAIR_PANELS:
        frame = frames.get(panel=panel, **coords)
        cell[panel] = len(sheets_files)
        sheets_files.append(frame["file"])
    metrics = frames.get(panel="n2", **coords).get("metrics", {})
    cell["noise_distance"] = metrics.get("noise_distance")
    cell["output_distance"] = metrics.get("output_distance")
    return cell


def _pair_seed(frames: Frames, sheets: SheetWriter, seed: int, group: int, variants: list[dict]) -> dict:
    """Per seed: n1, o1, then four frames per variant (grey and colour sheets); indices become frame refs."""
    files = [frames.file(seed=seed, panel="n1"), frames.file(seed=seed, panel="o1")]
    cells = [_pair_cell(frames, files, seed=seed, **variant) for variant in variants]
    refs = sheets.add(files, track=f"seed {seed}", group=group)
    for cell in cells:
        for panel in PAIR_PANELS:
            cell[panel] = refs[cell[panel]]
    return {"seed": seed, "n1": refs[0], "o1": refs[1], "cells": cells}


def heat_scales(run: Run) -> dict:
    """Where each heatmap's colour scale saturates (the precompute's choice, read back for the colour bar)."""
    axes = run.manifest["axes"]
    return {"noise": float(axes.get("noise_heat_scale", 2.0)), "output": float(axes.get("output_heat_scale", 1.0))}


def patch_noise(run: Run, sheets: SheetWriter) -> dict:
    frames = Frames(run)
    sizes, positions = [int(s) for s in axis(run, "sizes")], [[int(x), int(y)] for x, y in axis(run, "positions")]
    variants = [{"size": s, "x": x, "y": y} for s in sizes for x, y in positions]
    seeds = [_pair_seed(frames, sheets, seed, i, variants) for i, seed in enumerate(axis(run, "seeds"))]
    return {"sizes": sizes, "positions": positions, "image_size": axis(run, "image_size"),
            "variants": variants, "seeds": seeds, "heat_scales": heat_scales(run)}


def mix_noise(run: Run, sheets: SheetWriter) -> dict:
    frames = Frames(run)
    scales = [float(s) for s in axis(run, "scales")]
    seeds = [_pair_seed(frames, sheets, seed, i, [{"scale": s} for s in scales]) for i, seed in enumerate(axis(run, "seeds"))]
    return {"scales": scales, "seeds": seeds, "heat_scales": heat_scales(run)}


BUILDERS = {"reverse": reverse, "step_counts": step_counts, "forward_backward": forward_backward,
            "patch_noise": patch_noise, "mix_noise": mix_noise}


_CODE = hashlib.sha256(b"".join(Path(__file__).with_name(name).read_bytes()
                                for name in ("figures.py", "sprites.py", "mosaic.py"))).hexdigest()


def build_figure(run: Run, frames_root: Path, url_root: str, cache: Path | None = None) -> dict:
    """Sheets for one run under frames_root/<slug>/<experiment>/ and the figure data that points at them.

    Packing and encoding sheets is the slow part of a build, so results are cached by the content
    hash of the manifest (which names every frame's sha256) and of this code: a rebuild after one
    new run re-encodes only that run.
    """
    out_dir = frames_root / run.slug / run.experiment
    timings = json.dumps(run.seconds_by_part, sort_keys=True)  # shown by some figures, kept out of the manifest
    key = hashlib.sha256(f"{_CODE}|{url_root}|{run.slug}|{run.experiment}|{timings}|".encode()
                         + run.path.read_bytes()).hexdigest()
    entry = cache / key if cache else None
    if entry is not None and (entry / "figure.json").is_file():
        shutil.copytree(entry / "sheets", out_dir, dirs_exist_ok=True)
        os.utime(entry)  # most recently used
        return dict(json.loads((entry / "figure.json").read_text()), cached=True)  # "cached": for the build's log only
    size = frame_size(run)
    sheets = SheetWriter(run.folder, run.path, out_dir, f"{url_root}/{run.slug}/{run.experiment}", size)
    data = BUILDERS[run.experiment](run, sheets)
    figure = dict(model_info(run, size), sheets=sheets.write(), **data)
    if entry is not None:
        shutil.rmtree(entry, ignore_errors=True)
        shutil.copytree(out_dir, entry / "sheets")
        (entry / "figure.json").write_text(json.dumps(figure))  # written last: its presence marks a whole entry
    return figure


def finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
