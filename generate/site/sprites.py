"""Pack a figure's frames into lossless sprite sheets, one per track, so a page loads only what it shows.

A sheet is a grid of equal square cells, `cols` wide, filled row by row; cell i sits at
(i % cols, i // cols). Frames are grouped by track (a seed's trajectory, a row of the triangle, a
step-count run) and by pixel mode: a greyscale frame never shares a sheet with an RGB heatmap,
because one colour cell would make the whole sheet RGB and triple its bytes. Each sheet records its
`group` (the seed or level index it belongs to, or null for frames every state needs), so the
browser can load the current state's sheets first and the nearest tracks next.

Each sheet ships as lossless WebP (exact: every pixel value kept).

Large frames (PREVIEW_FROM px and up, the seed's 256-px models) are shown at half their size or less
(panels are at most 160 CSS px), so each of their sheets also gets a *preview*: the same cells at
half the size (2 x 2 pixel means), JPEG where that is much smaller than lossless (quality 85 with
full-resolution colour, 4:4:4: lossy WebP always halves the colour resolution, which turns colour
noise to mud; measured on 256-px noise frames, JPEG is 44 % of lossless with a mean error of 8 of 255,
WebP q80 19 % with 21). At 1 device
pixel per CSS pixel the preview is all the screen can show; the exact sheet loads only where it can
show more (high-density screens, downloads). Their sheets hold CHUNK_CELLS cells, so the first view
loads the few frames it draws, not a whole trajectory, and the rest arrive nearest first.
"""

from __future__ import annotations

import io
import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from ..errors import UsageError

MAX_CELLS = 1100  # 1100 cells of 32 px: a sheet of about 1070 x 1070 px, well inside browser limits
PREVIEW_FROM = 256  # frames this large get preview sheets (and small sheets)
CHUNK_CELLS = 8  # cells per sheet for such frames: 8 previews of 128 px are ~0.1 to 0.2 MB
PREVIEW_QUALITY = 85  # JPEG quality of previews (colour not subsampled)
LOSSY_WHEN = 0.7  # a lossy preview ships only when it is below this share of the lossless one


def cells_per_sheet(size: int) -> int:
    return CHUNK_CELLS if size >= PREVIEW_FROM else MAX_CELLS


class SheetWriter:
    """Collects the frames of one (model, experiment) by (track, mode) and writes one image per sheet."""

    def __init__(self, run_folder: Path, manifest_path: Path, out_dir: Path, url_prefix: str, size: int):
        self.run_folder, self.manifest_path = run_folder, manifest_path
        self.out_dir, self.url_prefix, self.size = out_dir, url_prefix, size
        self.sheets: list[dict] = []  # [{url, cols, count, group, bytes}] in the figure data
        self._files: list[list[str]] = []
        self._info: list[dict] = []  # per sheet: mode, track, group
        self._open: dict[tuple, int] = {}  # (track, mode) -> index of the sheet still taking cells

    def add(self, files: list[str], track: str, group: int | None = None) -> list[list]:
        """Queue frames of one track; return a reference [sheet, cell, file] for each."""
        refs = []
        for name in files:
            mode = self._mode(name)
            index = self._open.get((track, mode))
            if index is None or len(self._files[index]) >= cells_per_sheet(self.size):
                index = len(self._files)
                self._files.append([])
                self._info.append({"mode": mode, "track": track, "group": group})
                self._open[(track, mode)] = index
            refs.append([index, len(self._files[index]), name])
            self._files[index].append(name)
        return refs

    def write(self) -> list[dict]:
        """Pack and encode every sheet, several at a time (Pillow's codecs release the GIL); the
        entries keep the sheets' order, so the figure data does not depend on which finished first."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        jobs = list(enumerate(zip(self._files, self._info)))
        with ThreadPoolExecutor(max_workers=min(len(jobs), os.cpu_count() or 1) or 1) as pool:
            self.sheets.extend(pool.map(lambda job: self._write_sheet(job[0], *job[1]), jobs))
        return self.sheets

    def _write_sheet(self, index: int, files: list[str], info: dict) -> dict:
        cols = max(1, math.ceil(math.sqrt(len(files))))
        rows = max(1, math.ceil(len(files) / cols))
        sheet = Image.new(info["mode"], (cols * self.size, rows * self.size))
        for cell, name in enumerate(files):
            sheet.paste(self.load(name).convert(info["mode"]), ((cell % cols) * self.size, (cell // cols) * self.size))
        large = self.size >= PREVIEW_FROM
        suffix, data = exact_encoding(sheet)
        name = f"sheet{index:03d}.{suffix}"
        (self.out_dir / name).write_bytes(data)
        entry = {
            "url": f"{self.url_prefix}/{name}",
            "cols": cols,
            "count": len(files),
            "group": info["group"],
            "bytes": len(data),
        }
        if large:
            suffix, data = preview_encoding(sheet.reduce(2))
            name = f"sheet{index:03d}.preview.{suffix}"
            (self.out_dir / name).write_bytes(data)
            entry["preview"] = {"url": f"{self.url_prefix}/{name}", "size": self.size // 2, "bytes": len(data)}
        return entry

    def _open_frame(self, name: str) -> Image.Image:
        path = self.run_folder / name
        try:
            return Image.open(path)
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            raise UsageError(f"{self.manifest_path}: frame {name} is not a readable PNG ({error})") from None

    def _mode(self, name: str) -> str:
        """The sheet mode a frame needs, from its header alone (no decoding)."""
        with self._open_frame(name) as im:
            return "L" if im.mode == "L" else "RGB"

    def load(self, name: str) -> Image.Image:
        try:
            with self._open_frame(name) as im:
                im.load()
                frame = im.copy()
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            raise UsageError(f"{self.manifest_path}: frame {name} is not a readable PNG ({error})") from None
        if frame.size != (self.size, self.size):
            raise UsageError(
                f"{self.manifest_path}: frame {name} is {frame.width}x{frame.height}; "
                f"expected {self.size}x{self.size} like the rest of the run"
            )
        return frame if frame.mode in ("L", "RGB") else frame.convert("RGB")


# Lossless WebP effort ("quality" is effort here: every pixel is kept either way). Measured on the
# 32-px colour sheets of the default site (2026-12-05): method 5 at quality 100 made files 0.3 % smaller
# than method 4 at 75 but took 20 to 50 times as long (2 to 7.5 s a sheet against 0.1 s; most of the
# emoji model's build), and the slowest setting gains under 1 % on 256-px noise for 30 times the time.
WEBP_EFFORT = {"method": 4, "quality": 75}


def exact_encoding(sheet: Image.Image) -> tuple[str, bytes]:
    """Lossless WebP. PNG (level 9, optimized) was also tried on each sheet until 2026-12-06: it won 11
    of the default site's 608 sheets, by 0.6 % of their bytes in all (4.7 KB of the site's 35.6 MB of
    sheets), and its search cost 7.7 CPU-s a build, as much as the WebP encoding. Large frames' sheets
    were WebP only already (PNG 0.2 % to 3.2x larger on every 256-px sheet, at ten times the time)."""
    webp = io.BytesIO()
    # exact=True keeps every pixel value; lossless WebP has no greyscale mode, so grey sheets decode as R=G=B
    sheet.convert("RGB").save(webp, format="WEBP", lossless=True, exact=True, **WEBP_EFFORT)
    return "webp", webp.getvalue()


def preview_encoding(sheet: Image.Image) -> tuple[str, bytes]:
    """A preview: JPEG (4:4:4) where it saves much (noisy frames), else the exact encoding."""
    suffix, exact = exact_encoding(sheet)
    lossy = io.BytesIO()
    sheet.save(lossy, format="JPEG", quality=PREVIEW_QUALITY, subsampling=0)
    return ("jpg", lossy.getvalue()) if len(lossy.getvalue()) < LOSSY_WHEN * len(exact) else (suffix, exact)
