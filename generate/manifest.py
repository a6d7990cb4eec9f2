"""Frame-set manifests: what made a run's frames and where each frame sits in its grid.

A run folder holds
    manifest.json   schema, experiment, config, model identity, scheduler, environment, axes,
                    frames [{file, sha256, coords, metrics}], frames_sha256   (deterministic bytes)
    run.json        timings and the command line (differs between runs, so kept out of the manifest)
    frames/...png   lossless frames
The manifest is written last and atomically: a folder without one is an unfinished run.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import UsageError

SCHEMA = 1
REQUIRED = ("schema", "experiment", "run_key", "config", "model", "scheduler", "axes", "frames", "frames_sha256")


def frames_digest(frames: list[dict]) -> str:
    """sha256 over each frame's relative path and content hash, in manifest order."""
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(f"{frame['file']}\0{frame['sha256']}\n".encode())
    return digest.hexdigest()


class FramePaths:
    """The frame paths of one run folder, each refused if it leaves the folder: lexically (absolute,
    `..`, backslashes) and through symlinks. The real path of each frame folder is resolved once, not
    once per frame (a site build checks about 70,000 frames; resolving each took 15 s of its minute),
    and a frame that is itself a symlink is resolved on its own."""

    def __init__(self, run_dir: Path, where: str):
        self.run_dir, self.where = run_dir, where
        self.root = os.path.realpath(run_dir)
        self._folders: dict[PurePosixPath, str] = {}

    def __call__(self, name: str) -> Path:
        pure = PurePosixPath(name)
        if pure.is_absolute() or ".." in pure.parts or "\\" in name or not name or not pure.name:
            raise UsageError(f"{self.where}: frame path {name!r} must be a relative path inside the run folder")
        path = self.run_dir / pure
        folder = self._folders.get(pure.parent)
        if folder is None:
            folder = self._folders[pure.parent] = os.path.realpath(self.run_dir / pure.parent)
        real = os.path.realpath(path) if os.path.islink(path) else os.path.join(folder, pure.name)
        if not real.startswith(self.root + os.sep):
            raise UsageError(f"{self.where}: frame path {name!r} resolves outside the run folder (symlink?)")
        return path


def read_manifest(path: Path, check_files: bool = True) -> dict[str, Any]:
    """Load and validate one manifest; every problem names the file and what is expected."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: manifest not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(manifest, dict):
        raise UsageError(f"{path}: a manifest must be a JSON object")
    schema = manifest.get("schema")
    if not isinstance(schema, int) or schema > SCHEMA or schema < 1:
        raise UsageError(
            f"{path}: schema {schema!r} is not supported; this version reads schema {SCHEMA} "
            "(a newer schema needs a newer version of this tool)"
        )
    missing = [key for key in REQUIRED if key not in manifest]
    if missing:
        raise UsageError(f"{path}: missing field(s) {', '.join(missing)}")
    frames = manifest["frames"]
    if not isinstance(frames, list) or not all(
        isinstance(f, dict) and {"file", "sha256", "coords"} <= f.keys() for f in frames
    ):
        raise UsageError(f"{path}: field frames must be a list of objects with file, sha256 and coords")
    if frames_digest(frames) != manifest["frames_sha256"]:
        raise UsageError(
            f"{path}: frames_sha256 does not match the frame list; the manifest was edited "
            "or damaged; rerun the precompute"
        )
    if check_files:
        inside = FramePaths(path.parent, str(path))
        for frame in frames:
            frame_path = inside(frame["file"])
            if not frame_path.is_file():
                raise UsageError(f"{path}: frame {frame['file']} is listed but missing")
    return manifest


def verify_frames(path: Path, manifest: dict) -> list[str]:
    """Return one line per frame whose bytes differ from the manifest's hash (empty if all match)."""
    problems = []
    inside = FramePaths(path.parent, str(path))
    for frame in manifest["frames"]:
        frame_path = inside(frame["file"])
        if not frame_path.is_file():
            problems.append(f"{frame_path}: missing")
        elif hashlib.sha256(frame_path.read_bytes()).hexdigest() != frame["sha256"]:
            problems.append(f"{frame_path}: content does not match the manifest's sha256")
    return problems


def find_manifests(runs: Path) -> list[Path]:
    if not runs.is_dir():
        raise UsageError(f"--runs {runs}: folder not found; run `python -m generate precompute` first")
    return sorted(runs.glob("*/*/*/manifest.json"))
