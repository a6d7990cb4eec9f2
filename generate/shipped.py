"""The models this project trains and ships (generate/models/<name>/): where they are and their names.

Torch-free on purpose: the site stage lists the shipped models' cards without loading any model.
"""

from __future__ import annotations

from pathlib import Path

SHIPPED_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODEL = "fashion-32"  # what `make site` shows and the reader sees first
DEFAULT_CONFIG = "default"  # the shipped config `generate precompute` runs without --config (the whole explainer)


def shipped_models() -> list[str]:
    """Names of the shipped models: the folders of SHIPPED_DIR that hold a config.json."""
    return (
        sorted(p.name for p in SHIPPED_DIR.iterdir() if (p / "config.json").is_file()) if SHIPPED_DIR.is_dir() else []
    )
