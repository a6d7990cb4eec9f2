"""A finished run as the site stage and the figure builders see it (no torch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Run:
    path: Path  # the manifest file
    manifest: dict
    finished_ns: int
    seconds_by_part: dict[str, float]  # from run.json: measured time of named parts (not in the manifest)
    record: dict = field(default_factory=dict)  # run.json itself ({} without one): when, and from which config

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def slug(self) -> str:
        return self.manifest["model"]["slug"]

    @property
    def experiment(self) -> str:
        return self.manifest["experiment"]
