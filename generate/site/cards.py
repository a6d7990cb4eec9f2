"""Model cards as site pages: generate/models/<name>/README.md -> site_src/models/<name>/index.md.

The card's images are referenced relatively (loss.svg, samples.png, nearest.png), so the page keeps
them beside it. A model folder without a README.md (its card not written yet) is skipped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..shipped import SHIPPED_DIR, shipped_models
from ..toolkit.cards import training_set

ASSET_SUFFIXES = (".png", ".svg")


def card_names(cards_dir: Path) -> list[str]:
    """Shipped model names (a folder with config.json, as the loader sees them) that have a card."""
    if cards_dir.resolve() == SHIPPED_DIR.resolve():
        names = shipped_models()
    else:  # a test's or another checkout's models folder: the same rule as shipped_models()
        names = (
            sorted(p.name for p in cards_dir.iterdir() if (p / "config.json").is_file()) if cards_dir.is_dir() else []
        )
    return [name for name in names if (cards_dir / name / "README.md").is_file()]


def copy_cards(cards_dir: Path, site_src: Path, models: list[str] | None = None) -> list[dict]:
    """Copy each card and its images; return [{name, page}] with page relative to site_src. `models`:
    only the cards of these (the models of the build's runs: the overview lists them as "Models in
    this build"); None: every card."""
    target_root = site_src / "models"
    shutil.rmtree(target_root, ignore_errors=True)  # a card that disappeared leaves no page behind
    cards = []
    for name in card_names(cards_dir):
        if models is not None and name not in models:
            continue
        source, target = cards_dir / name, target_root / name
        target.mkdir(parents=True)
        shutil.copyfile(source / "README.md", target / "index.md")
        for asset in sorted(source.iterdir()):
            if asset.is_file() and asset.suffix.lower() in ASSET_SUFFIXES:
                shutil.copyfile(asset, target / asset.name)
        cards.append({"name": name, "page": f"models/{name}/index.md", **training_set(source)})
    return cards


def nav_with_cards(nav: list, cards: list[dict], guides: list | None = None) -> list:
    """The configured nav plus one section for authors, after the lessons: the guides (how to make
    your own runs) and the model cards (nothing added without either)."""
    nav = [entry for entry in nav if not (isinstance(entry, dict) and AUTHORS in entry)]
    section = list(guides or []) + ([{"Models": [{card["name"]: card["page"]} for card in cards]}] if cards else [])
    if section:
        nav.append({AUTHORS: section})
    return nav


AUTHORS = "For authors"  # the nav section of the guides and model cards: one tab beside the lessons
