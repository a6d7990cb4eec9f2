"""The forward/backward triangle as images: many runs' frames composed into one mosaic picture.

Rows are start levels k (noisiest on top), columns sampling steps m, so row k holds the cells
m = k..T and cell (k, m) is the frame L{k}/{m-k}: the diagonal is each level's noised start and the
right-hand column every level's reconstruction. Two mosaics per run, beside its sprite sheets:

    triangle-grid.png  a subsample (9 rows, 10 columns for 32-px frames) that the figure shows and clicks on
                       (a phone shows every other row of it, with the columns where those rows start)
    triangle-full.png  every level and every step, opened only when the reader asks for it

and one strip of every level's reconstruction, which the page's text marks level by level:

    reconstructions.png  STRIP_COLUMNS to a row, noisiest start first; every cell has a transparent
                         border of `gap` px on all four sides (cell (r, c) at x = c p + g, y = r p + g,
                         p = size + 2g), so a grid of boxes of side p laid over the picture frames each
                         reconstruction in its border without covering a pixel of it

Cell (r, c) of a mosaic with frame size s and gap g covers x = c(s + g) .. c(s + g) + s - 1 and
y = r(s + g) .. r(s + g) + s - 1, pixel for pixel the frame's own; the gaps and the empty lower-left
half are transparent (LA for greyscale frames, RGBA for colour), so the page's background shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image

GRID_WIDTH = 340  # px the subsampled grid may take at 1x (a desktop figure column; phones show every other row)
# larger frames (256 px) are shown reduced in the mosaics (pixel means), laid out as 32-px ones: a full
# triangle of 50 x 51 cells of 256 px would be a 13,600-px square picture
MAX_CELL = 32
MIN_ROWS, MAX_ROWS = 2, 9  # odd: every other row (the phone view) is then evenly spread too
STRIP_COLUMNS = 10  # reconstructions to a row: levels 1-10, 11-20, ... (easy to count); 340 px at 1x fits a phone


def cell_for(size: int) -> int:
    """A mosaic cell's side: the frame's own up to MAX_CELL, else the frame reduced by a whole factor."""
    return size if size <= MAX_CELL else size // -(-size // MAX_CELL)


def gap_for(size: int) -> int:
    """Transparent space between cells: 2 px for 32-px frames, at least 1."""
    return max(1, size // 16)


def spread(values: Sequence[int], most: int) -> list[int]:
    """Up to `most` of `values`, evenly spread and always the first and the last."""
    if len(values) <= most:
        return list(values)
    last = len(values) - 1
    return [values[i] for i in sorted({round(i * last / (most - 1)) for i in range(most)})]


def grid_levels(levels: Sequence[int], size: int) -> list[int]:
    """The start levels the subsampled grid shows: as many as fit GRID_WIDTH with one column more."""
    pitch = size + gap_for(size)
    rows = max(MIN_ROWS, min(MAX_ROWS, GRID_WIDTH // pitch - 1))
    return spread(levels, rows)


def columns_for(levels: Sequence[int], steps: int, every_step: bool) -> list[int]:
    """Sampling steps shown as columns: every step from the first level on, or (subsampled) exactly
    the shown levels plus the end, so each row begins at its own noised start on the diagonal."""
    if every_step:
        return list(range(levels[0], steps + 1))
    return sorted(set(levels) | {steps})


def cells(rows: Sequence[int], cols: Sequence[int]) -> list[tuple[int, int, int, int]]:
    """(r, c, k, j) for every filled cell: row r is level k = rows[r], column c step m = cols[c] >= k,
    showing frame L{k}/{j} with j = m - k denoising steps taken."""
    return [(r, c, k, m - k) for r, k in enumerate(rows) for c, m in enumerate(cols) if m >= k]


def compose(
    rows: Sequence[int], cols: Sequence[int], size: int, gap: int, frame: Callable[[int, int], Image.Image]
) -> Image.Image:
    """The mosaic image; frame(k, j) gives the (size x size, L or RGB) image of L{k}/{j}."""
    filled = cells(rows, cols)
    frames = {(r, c): frame(k, j) for r, c, k, j in filled}
    colour = any(image.mode != "L" for image in frames.values())
    pitch = size + gap
    # Image.new fills with zeros: transparent gaps and empty cells
    mosaic = Image.new("RGBA" if colour else "LA", (len(cols) * pitch - gap, len(rows) * pitch - gap))
    for (r, c), image in frames.items():
        mosaic.paste(image.convert(mosaic.mode), (c * pitch, r * pitch))  # converted: opaque, alpha 255
    return mosaic


def write(image: Image.Image, path: Path) -> int:
    """Save as PNG (lossless; every frame pixel kept); returns the file's size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG", optimize=True)
    return path.stat().st_size


def triangle(
    levels: Sequence[int],
    steps: int,
    size: int,
    frame: Callable[[int, int], Image.Image],
    out_dir: Path,
    url_prefix: str,
) -> dict:
    """Write both mosaics into out_dir; return the figure data that describes them.

    {cell, gap, grid: {url, rows, cols, width, height, bytes}, full: {...}}: rows are start levels k,
    cols sampling steps m; URLs are url_prefix + file name, like the sprite sheets'.
    """
    levels = sorted(int(k) for k in levels)
    cell = cell_for(size)
    gap, loaded = gap_for(cell), {}

    def cached(k: int, j: int) -> Image.Image:
        if (k, j) not in loaded:
            image = frame(k, j)
            loaded[(k, j)] = image if cell == size else image.reduce(size // cell)
        return loaded[(k, j)]

    data: dict = {"cell": cell, "gap": gap}
    size = cell
    for name, rows, every_step in (("grid", grid_levels(levels, size), False), ("full", levels, True)):
        cols = columns_for(rows, steps, every_step)
        image = compose(rows, cols, size, gap, cached)
        file = f"triangle-{name}.png"
        data[name] = {
            "url": f"{url_prefix}/{file}",
            "rows": rows,
            "cols": cols,
            "width": image.width,
            "height": image.height,
            "bytes": write(image, out_dir / file),
        }
    return data


def strip(
    levels: Sequence[int],
    size: int,
    frame: Callable[[int], Image.Image],
    out_dir: Path,
    url_prefix: str,
    columns: int = STRIP_COLUMNS,
) -> dict:
    """Every level's reconstruction (frame(k)) in rows of `columns`, each with a transparent border of
    `gap` px all round; write reconstructions.png into out_dir and return its figure data:
    {url, levels, cell, gap, pitch, columns, rows, width, height, bytes}."""
    levels = sorted(int(k) for k in levels)
    cell = cell_for(size)
    gap = max(1, gap_for(cell) // 2)
    pitch, rows = cell + 2 * gap, -(-len(levels) // columns)
    images = [frame(k) if cell == size else frame(k).reduce(size // cell) for k in levels]
    colour = any(image.mode != "L" for image in images)
    # always `columns` wide (a short last row, or fewer levels, leave transparent cells): the page's
    # grid of marks has that many columns (figures.css), so every mark sits on its cell
    picture = Image.new("RGBA" if colour else "LA", (columns * pitch, rows * pitch))
    for index, image in enumerate(images):
        r, c = divmod(index, columns)
        picture.paste(image.convert(picture.mode), (c * pitch + gap, r * pitch + gap))
    file = "reconstructions.png"
    return {
        "url": f"{url_prefix}/{file}",
        "levels": levels,
        "cell": cell,
        "gap": gap,
        "pitch": pitch,
        "columns": columns,
        "rows": rows,
        "width": picture.width,
        "height": picture.height,
        "bytes": write(picture, out_dir / file),
    }
