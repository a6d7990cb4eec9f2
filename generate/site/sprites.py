"""Pack a figure's frames into lossless PNG sprite sheets, so a slider never waits for a request.

A sheet is a grid of equal square cells, `cols` wide, filled row by row; cell i sits at
(i % cols, i // cols). The browser loads each sheet once and draws cells onto canvases. Groups of
frames (a trajectory, a row of the triangle) share a sheet until it holds MAX_CELLS, so a figure
costs a few requests rather than one per trajectory.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from ..errors import UsageError

MAX_CELLS = 1100  # 1100 cells of 32 px: a sheet of about 1070 x 1070 px, well inside browser limits


class SheetWriter:
    """Collects named groups of frames for one (model, experiment) and writes one PNG per group."""

    def __init__(self, run_folder: Path, manifest_path: Path, out_dir: Path, url_prefix: str, size: int):
        self.run_folder, self.manifest_path = run_folder, manifest_path
        self.out_dir, self.url_prefix, self.size = out_dir, url_prefix, size
        self.sheets: list[dict] = []      # [{url, cols, count}] in the figure data
        self._groups: list[list[str]] = []

    def add(self, files: list[str]) -> list[list]:
        """Queue frame files (kept together on one sheet); return a reference [sheet, cell, file] for each."""
        if not self._groups or len(self._groups[-1]) + len(files) > MAX_CELLS:
            self._groups.append([])
        index, group = len(self._groups) - 1, self._groups[-1]
        offset = len(group)
        group.extend(files)
        return [[index, offset + cell, name] for cell, name in enumerate(files)]

    def write(self) -> list[dict]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for index, files in enumerate(self._groups):
            cols = max(1, math.ceil(math.sqrt(len(files))))
            rows = max(1, math.ceil(len(files) / cols))
            images = [self._load(name) for name in files]
            mode = "L" if all(im.mode == "L" for im in images) else "RGB"
            sheet = Image.new(mode, (cols * self.size, rows * self.size))
            for cell, im in enumerate(images):
                sheet.paste(im.convert(mode), ((cell % cols) * self.size, (cell // cols) * self.size))
            name = f"sheet{index:03d}.png"
            sheet.save(self.out_dir / name, format="PNG", compress_level=9)
            self.sheets.append({"url": f"{self.url_prefix}/{name}", "cols": cols, "count": len(files)})
        return self.sheets

    def _load(self, name: str) -> Image.Image:
        path = self.run_folder / name
        try:
            with Image.open(path) as im:
                im.load()
                frame = im.copy()
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            raise UsageError(f"{self.manifest_path}: frame {name} is not a readable PNG ({error})") from None
        if frame.size != (self.size, self.size):
            raise UsageError(f"{self.manifest_path}: frame {name} is {frame.width}x{frame.height}; "
                             f"expected {self.size}x{self.size} like the rest of the run")
        return frame if frame.mode in ("L", "RGB") else frame.convert("RGB")
