"""What a shipped model's folder records about it, for the pages (no torch)."""

from __future__ import annotations

import json
from pathlib import Path


def training_set(folder: Path) -> dict:
    """What the model learnt from (training.json, written by `generate train`): the data set's name and
    its number of training images; {} where the folder has no such record."""
    try:
        data = json.loads((folder / "training.json").read_text(encoding="utf-8"))["data"]
        return {"dataset": str(data["name"]), "train_images": int(data["shapes"]["train"][0])}
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return {}
