"""Training data from package registries: Fashion-MNIST (Debian) and Noto colour emoji (npm).

A prepared data set is a folder holding
    train.npy      uint8 (N, H, W, C) images the model is trained on
    heldout.npy    uint8 (M, H, W, C) images never shown to the model (quality figure)
    *_labels.npy   int64 class labels of both (for the small feature classifier)
    source.json    where the data came from, its licence and sha256 checksums
The data itself is never committed; `python -m generate prepare-data NAME` rebuilds it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import write_bytes_atomic, write_json_atomic
from ..errors import UsageError

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
EMOJI_PACKAGE = "emoji-datasource-google@16.0.0"
DEFAULT_EMOJI_CATEGORY = "Smileys & Emotion"


@dataclass
class Prepared:
    train: np.ndarray
    heldout: np.ndarray
    train_labels: np.ndarray
    heldout_labels: np.ndarray
    class_names: list[str]
    source: dict


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_idx(path: Path) -> np.ndarray:
    """Read one gzipped IDX file (the MNIST format: magic, dims, big-endian sizes, raw bytes)."""
    raw = gzip.open(path, "rb").read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def prepare_fashion(source_dir: Path = FASHION_DIR) -> Prepared:
    files = {
        "train_images": source_dir / "train-images-idx3-ubyte.gz",
        "train_labels": source_dir / "train-labels-idx1-ubyte.gz",
        "test_images": source_dir / "t10k-images-idx3-ubyte.gz",
        "test_labels": source_dir / "t10k-labels-idx1-ubyte.gz",
    }
    for path in files.values():
        if not path.is_file():
            raise UsageError(
                f"{path}: Fashion-MNIST file not found. Install it with "
                "`apt-get install dataset-fashion-mnist` or pass --source DIR."
            )
    pad = lambda images: np.pad(images, ((0, 0), (2, 2), (2, 2)))[..., None]  # 28 -> 32 px, 1 channel
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    return Prepared(
        train=pad(_read_idx(files["train_images"])),
        heldout=pad(_read_idx(files["test_images"])),
        train_labels=_read_idx(files["train_labels"]).astype(np.int64),
        heldout_labels=_read_idx(files["test_labels"]).astype(np.int64),
        class_names=names,
        source={
            "name": "Fashion-MNIST",
            "licence": "MIT (Zalando Research)",
            "package": "Debian dataset-fashion-mnist",
            "files": {key: {"path": str(p), "sha256": sha256_file(p)} for key, p in files.items()},
            "transform": "28x28 grey padded with 2 black pixels on each side to 32x32, 1 channel",
        },
    )


def _fetch_emoji_tarball(cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    existing = sorted(cache.glob("emoji-datasource-google-*.tgz"))
    if existing:
        return existing[-1]
    try:
        subprocess.run(["npm", "pack", EMOJI_PACKAGE, "--silent"], cwd=cache, check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as error:
        raise UsageError(
            f"could not fetch the npm package {EMOJI_PACKAGE} ({error}); pass --source PATH.tgz of a downloaded copy"
        ) from None
    return sorted(cache.glob("emoji-datasource-google-*.tgz"))[-1]


def prepare_emoji(
    tarball: Path, category: str = DEFAULT_EMOJI_CATEGORY, size: int = 32, heldout_every: int = 5
) -> Prepared:
    """Composite each 64 px Noto emoji of `category` on white and shrink it to `size` px.

    Every `heldout_every`-th emoji (in the package's sort order) is held out for the quality figure.
    """
    from PIL import Image

    with tarfile.open(tarball) as archive:
        meta = json.load(archive.extractfile("package/emoji.json"))
        categories = sorted({entry["category"] for entry in meta})
        if category not in categories:
            raise UsageError(f"--category {category!r}: no such emoji category; allowed: {categories}")
        chosen = sorted(
            (e for e in meta if e["category"] == category and e.get("has_img_google")), key=lambda e: e["sort_order"]
        )
        subcategories = sorted({e["subcategory"] for e in chosen})
        images, labels = [], []
        for entry in chosen:
            member = archive.extractfile(f"package/img/google/64/{entry['image']}")
            rgba = Image.open(io.BytesIO(member.read())).convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            rgb = Image.alpha_composite(white, rgba).convert("RGB").resize((size, size), Image.LANCZOS)
            images.append(np.asarray(rgb, dtype=np.uint8))
            labels.append(subcategories.index(entry["subcategory"]))
    images_arr, labels_arr = np.stack(images), np.asarray(labels, dtype=np.int64)
    held = np.arange(len(images_arr)) % heldout_every == heldout_every - 1
    return Prepared(
        train=images_arr[~held],
        heldout=images_arr[held],
        train_labels=labels_arr[~held],
        heldout_labels=labels_arr[held],
        class_names=subcategories,
        source={
            "name": f"Noto Color Emoji, category {category!r}",
            "licence": "Apache-2.0 (Google Noto emoji images)",
            "package": f"npm {EMOJI_PACKAGE}",
            "files": {"tarball": {"path": tarball.name, "sha256": sha256_file(tarball)}},
            "transform": f"64 px PNG composited on white, Lanczos-resized to {size}x{size}, RGB; "
            f"every {heldout_every}th emoji held out",
        },
    )


def save_prepared(prepared: Prepared, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train": prepared.train,
        "heldout": prepared.heldout,
        "train_labels": prepared.train_labels,
        "heldout_labels": prepared.heldout_labels,
    }
    checksums = {}
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, array)
        write_bytes_atomic(out / f"{name}.npy", buffer.getvalue())
        checksums[name] = hashlib.sha256(buffer.getvalue()).hexdigest()
    record = dict(
        prepared.source,
        class_names=prepared.class_names,
        arrays=checksums,
        shapes={k: list(v.shape) for k, v in arrays.items()},
    )
    write_json_atomic(out / "source.json", record)
    return record


def load_prepared(folder: Path, split: str = "train") -> tuple[np.ndarray, dict]:
    """Return the uint8 (N, H, W, C) images of one split and the data set's source record."""
    source_file = folder / "source.json"
    if not source_file.is_file():
        raise UsageError(
            f"{source_file}: not a prepared data set; run `python -m generate prepare-data fashion|emoji` first"
        )
    return np.load(folder / f"{split}.npy"), json.loads(source_file.read_text())
