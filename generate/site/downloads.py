"""Downloads: each figure's animations (GIF and MP4) and numbers (CSV), written at build time.

An experiment declares what it offers (`Experiment.downloads`: run -> [Offer]); an experiment that
declares nothing offers one CSV of its frames' numbers. Each offer holds one item per state of the
figure (a seed, a start level, a seed and a noise change), and the figure data lists the file names
and sizes, so the figure's menu (site_src/assets/js/downloads.js) links the item of the state on show.
The files sit under downloads/<model>/<experiment>/ in the site and are fetched only when a reader
clicks: no page loads them.

    <model>_<experiment>_<item>.gif   the item's frames, nearest-neighbour upscaled, side by side, looping
    <model>_<experiment>_<item>.mp4   the same frames, H.264 in yuv420p (imageio's ffmpeg plugin)
    <model>_<experiment>_<item>.csv   the numbers, as the manifest records them

Small frames are upscaled by whole multiples (a 32-px frame becomes 128 px): a 32-px GIF is a speck
in an image viewer, and nearest-neighbour keeps every pixel a sharp square. Encoding runs a few files
at a time (ffmpeg is a separate process, Pillow's GIF encoder releases the GIL).
"""

from __future__ import annotations

import csv
import io
import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from ..toolkit.contract import FRACTION, INDEX, Animation, Offer, Table
from ..toolkit.tables import frames_table, scalar

TILE_PX = 128  # an animation's frames are upscaled to at least this side (whole multiples)
RACE_TILE_PX = 96  # rows of many frames (the step-count race) use smaller tiles
GAP_PX = 4  # white gap between frames shown side by side
MP4 = {
    "plugin": "FFMPEG",
    "extension": ".mp4",
    "codec": "libx264",
    "pixelformat": "yuv420p",
    "macro_block_size": 2,
    "ffmpeg_log_level": "error",
    "output_params": ["-crf", "18"],
}


def named(out: Path, kind: str) -> Path:
    """out + "." + kind (not with_suffix: an item's name may hold a dot, as in "s0.05")."""
    return out.with_name(f"{out.name}.{kind}")


def scale_for(size: int, tile_px: int = TILE_PX) -> int:
    """The whole-number upscale that brings a `size`-px frame to at least tile_px (1 for large frames)."""
    return max(1, math.ceil(tile_px / size))


def frame_strip(run_folder: Path, files: list[str], scale: int) -> np.ndarray:
    """The frames side by side (RGB, each upscaled `scale` times by nearest neighbour), even-sized for yuv420p."""
    tiles = []
    for name in files:
        with Image.open(run_folder / name) as im:
            tile = im.convert("RGB")
        tiles.append(tile.resize((tile.width * scale, tile.height * scale), Image.NEAREST))
    width = sum(t.width for t in tiles) + GAP_PX * (len(tiles) - 1)
    height = max(t.height for t in tiles)
    strip = Image.new("RGB", (width + width % 2, height + height % 2), (255, 255, 255))
    x = 0
    for tile in tiles:
        strip.paste(tile, (x, 0))
        x += tile.width + GAP_PX
    return np.asarray(strip)


def paletted(strip: np.ndarray) -> Image.Image:
    """One GIF frame: exact when the strip has at most 256 colours (grey frames always do), else
    Pillow's fast octree. On colour rows the octree was 14 times faster than the median cut that
    Pillow uses by default (quantizing was most of a site build's time) and as close to the source
    (mean absolute error 5.3 against 5.5 levels on the emoji model's forward/backward rows)."""
    image = Image.fromarray(strip)
    if image.getcolors(256) is not None:
        return image.quantize(colors=256, dither=Image.Dither.NONE)
    return image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)


def encode_animation(run_folder: Path, item: Animation, scale: int, out: Path) -> dict:
    """<out>.gif and <out>.mp4 of the item; their sizes in bytes and the frames' count and size."""
    import imageio.v3 as iio

    frames = np.stack([frame_strip(run_folder, files, scale) for files in item.frames])
    gif = named(out, "gif")
    first, *rest = [paletted(strip) for strip in frames]
    # duration in ms per frame; loop=0 plays forever
    first.save(gif, format="GIF", save_all=True, append_images=rest, duration=round(1000 / item.fps), loop=0)
    mp4 = named(out, "mp4")
    iio.imwrite(mp4, frames, fps=item.fps, **MP4)
    # A GIF holds a frame identical to the one before it as a longer delay (Pillow merges them: the
    # flip at s = 0, where n2 is n1), so its count is read back, not assumed.
    return {
        "gif": gif.stat().st_size,
        "mp4": mp4.stat().st_size,
        "frames": {"gif": _frame_count(gif), "mp4": len(frames)},
        "width": int(frames.shape[2]),
        "height": int(frames.shape[1]),
    }


def _frame_count(gif: Path) -> int:
    """The frames the GIF holds, read from the file without decoding them (imageio decoded each: 9 ms a
    file, 594 files in the default site)."""
    with Image.open(gif) as image:
        return image.n_frames


def encode_table(item: Table, out: Path) -> dict:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(item.header)
    writer.writerows(item.rows)
    path = named(out, "csv")
    path.write_text(text.getvalue(), encoding="utf-8")
    return {"csv": path.stat().st_size, "rows": len(item.rows)}


def default_offers(run) -> list[Offer]:
    """What an experiment that declares no downloads offers: its frames' numbers, where it has any."""
    records = [f for f in run.manifest["frames"] if any(scalar(v) for v in f.get("metrics", {}).values())]
    return [Offer("the numbers of every frame", [frames_table("frames", records)])] if records else []


def write_downloads(run, offers: list[Offer], out_dir: Path, url: str, size: int, state: dict[str, str]) -> dict:
    """Encode every item of every offer under out_dir; the figure data's "downloads" entry. An offer's
    axes are keys of the figure's declared `state` ({key: kind}): a picker index or a slider fraction."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{run.slug}_{run.experiment}"
    jobs = []
    for offer in offers:
        for a in offer.axes:
            if state.get(a.key) not in (INDEX, FRACTION):
                raise ValueError(
                    f"{run.experiment}: offer {offer.what!r} has axis {a.key!r}, which is not an index or fraction "
                    f"key of the experiment's declared state ({state or 'none declared'})"
                )
        if len(offer.items) != math.prod(a.count for a in offer.axes):
            raise ValueError(
                f"{run.experiment}: offer {offer.what!r} has {len(offer.items)} items for axes "
                f"{[(a.key, a.count) for a in offer.axes]}"
            )
        for item in offer.items:
            out = out_dir / f"{stem}_{item.name}"
            if isinstance(item, Animation):
                # many frames side by side get smaller tiles, so the row stays a sensible width
                tile = TILE_PX if max(len(f) for f in item.frames) <= 2 else RACE_TILE_PX
                jobs.append((encode_animation, (run.folder, item, scale_for(size, tile), out)))
            else:
                jobs.append((encode_table, (item, out)))
    # imageio-ffmpeg starts ffmpeg in a process group of its own (so that Ctrl-C reaches only Python)
    # through preexec_fn, which makes Python fork the whole build process (its memory mapped again)
    # rather than vfork: 594 files of the default site spent 14 CPU-s of the kernel's time on it. Without
    # it, Ctrl-C stops ffmpeg with the build, which writes nothing half-made either way. Set once, before
    # the threads start.
    os.environ.setdefault("IMAGEIO_FFMPEG_NO_PREVENT_SIGINT", "1")
    # two jobs per core: a job spends part of its time waiting on its ffmpeg process
    with ThreadPoolExecutor(max_workers=2 * max(1, min(4, os.cpu_count() or 1))) as pool:
        done = list(pool.map(lambda job: job[0](*job[1]), jobs))
    entries, at = [], 0
    for offer in offers:
        results = done[at : at + len(offer.items)]
        at += len(offer.items)
        kinds = ("gif", "mp4") if isinstance(offer.items[0], Animation) else ("csv",)
        entry = {
            "what": offer.what,
            "axes": [{"key": a.key, "count": a.count, "fraction": state[a.key] == FRACTION} for a in offer.axes],
            "names": [f"{stem}_{item.name}" for item in offer.items],
            "bytes": {kind: [r[kind] for r in results] for kind in kinds},
        }
        if "gif" in kinds:  # what the menu says of the animation: frames and pixel size (the same for every item)
            entry.update(
                frames={kind: [r["frames"][kind] for r in results] for kind in kinds},
                width=results[0]["width"],
                height=results[0]["height"],
            )
        entries.append(entry)
    return {"base": url, "offers": entries}
