"""Figure data: for every model, which manifest frame each slider position shows, plus the metrics.

Each experiment declares its builder (experiments/<name>/figure.py), which turns a validated manifest
into a JSON-ready dict with the helpers here. Frames are referenced as [sheet, cell, file]: `file` is
the manifest's own path, so the page (and the tests) can say exactly which manifest frame is on screen.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shutil
from pathlib import Path

from PIL import Image

from ..errors import UsageError
from ..toolkit.runs import Run
from . import downloads
from .sprites import SheetWriter


def frame_size(run: Run) -> int:
    """The side of the run's images in pixels: of its first PNG frame, or of the model (a run whose
    frames are not images, such as live mode's graph, or that has none: a refused export)."""
    first = next((f["file"] for f in run.manifest["frames"] if f["file"].endswith(".png")), None)
    if first is None:
        size = (run.manifest["model"].get("config") or {}).get("sample_size")
        if isinstance(size, int):
            return size
        raise UsageError(f"{run.path}: the manifest lists no frames")
    with Image.open(run.folder / first) as im:
        return im.width


def model_info(run: Run, size: int) -> dict:
    model = run.manifest["model"]
    config = model.get("config") or {}
    return {
        "slug": model["slug"],
        "label": str(model.get("label") or model.get("id") or model["slug"]),
        "id": str(model.get("id", "")),
        "size": size,
        "channels": config.get("in_channels"),
        "run_key": run.manifest["run_key"],
        "scheduler": run.manifest["scheduler"].get("class", ""),
        "prediction": str((run.manifest["scheduler"].get("config") or {}).get("prediction_type", "epsilon")),
    }


_PACKAGE = Path(__file__).resolve().parents[1]  # generate/


def code_files() -> list[Path]:
    """Every file of the code that shapes figure data and sheets, for the cache key: the site stage,
    every experiment package (a figure may use another's helpers: samplers uses step_counts' figure
    code, trajectories its projection), the toolkit and the torch-free modules beside them (streams,
    spacing). An edit to any of them rebuilds the figures; a stale figure is worse than a slower rebuild."""
    folders = ("site", "toolkit", "experiments")
    return sorted([*_PACKAGE.glob("*.py"), *(p for folder in folders for p in (_PACKAGE / folder).rglob("*.py"))])


def _code_hash() -> str:
    digest = hashlib.sha256()
    for path in code_files():
        digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


_CODE = _code_hash()


def build_figure(run: Run, frames_root: Path, url_root: str, cache: Path | None = None) -> dict:
    """Sheets for one run under frames_root/<slug>/<experiment>/ and the figure data that points at them;
    its downloads (downloads.py) under downloads/<slug>/<experiment>/ beside frames_root.

    Packing and encoding sheets is the slow part of a build, so results are cached by the content
    hash of the manifest (which names every frame's sha256) and of this code: a rebuild after one
    new run re-encodes only that run.
    """
    from .. import experiments

    experiment = experiments.get(run.experiment)
    builder = experiment.figure
    out_dir = frames_root / run.slug / run.experiment
    files_dir = frames_root.parent / "downloads" / run.slug / run.experiment
    files_url = posixpath.join(posixpath.dirname(url_root), "downloads", run.slug, run.experiment)
    timings = json.dumps(run.seconds_by_part, sort_keys=True)  # shown by some figures, kept out of the manifest
    key = hashlib.sha256(
        f"{_CODE}|{url_root}|{run.slug}|{run.experiment}|{timings}|".encode() + run.path.read_bytes()
    ).hexdigest()
    entry = cache / key if cache else None
    if entry is not None and (entry / "figure.json").is_file():
        shutil.copytree(entry / "sheets", out_dir, dirs_exist_ok=True)
        shutil.copytree(entry / "downloads", files_dir, dirs_exist_ok=True)
        os.utime(entry)  # most recently used
        return dict(json.loads((entry / "figure.json").read_text()), cached=True)  # "cached": for the build's log only
    size = frame_size(run)
    sheets = SheetWriter(run.folder, run.path, out_dir, f"{url_root}/{run.slug}/{run.experiment}", size)
    data = builder(run, sheets)
    offers = experiment.downloads(run) if experiment.downloads else downloads.default_offers(run)
    figure = dict(
        model_info(run, size),
        sheets=sheets.write(),
        **data,
        downloads=downloads.write_downloads(run, offers, files_dir, files_url, size, experiment.state_kinds()),
    )
    if entry is not None:
        shutil.rmtree(entry, ignore_errors=True)
        shutil.copytree(out_dir, entry / "sheets")
        shutil.copytree(files_dir, entry / "downloads")
        (entry / "figure.json").write_text(json.dumps(figure))  # written last: its presence marks a whole entry
    return figure
