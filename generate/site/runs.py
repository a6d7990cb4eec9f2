"""Pick the runs the site shows: for each (model slug, experiment) the newest finished run."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import UsageError
from ..manifest import find_manifests, read_manifest, verify_frames
from ..toolkit.runs import Run

SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # becomes a folder name under the site's frames/


def _run_record(manifest_path: Path) -> dict:
    """run.json (timings, finish time); {} for a run without one (it still counts, it sorts oldest)."""
    run_json = manifest_path.parent / "run.json"
    try:
        record = json.loads(run_json.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"{run_json}: not a valid run record ({error})") from None
    if not isinstance(record, dict):
        raise UsageError(f"{run_json}: not a valid run record (expected an object)")
    return record


def seconds_by_part(record: dict) -> dict[str, float]:
    """The measured seconds of an experiment's named parts (run.json), numbers only."""
    parts = record.get("seconds_by_part")
    if not isinstance(parts, dict):
        return {}
    return {
        str(k): float(v) for k, v in parts.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
    }


def latest_runs(runs: Path) -> dict[tuple[str, str], Run]:
    """Read and validate every manifest (frames must exist); keep the newest per (slug, experiment)."""
    from .. import experiments  # the registry: which experiments this build can show

    known = experiments.names()
    chosen: dict[tuple[str, str], Run] = {}
    for path in find_manifests(runs):
        manifest = read_manifest(path)
        model = manifest["model"]
        if not isinstance(model, dict) or not isinstance(model.get("slug"), str):
            raise UsageError(f"{path}: field model must be an object with a slug")
        if not SLUG.match(model["slug"]) or ".." in model["slug"]:
            raise UsageError(
                f"{path}: model.slug {model['slug']!r} must be letters, digits, '.', '_' or '-' "
                "(it names a folder of the site)"
            )
        if manifest["experiment"] not in known:
            raise UsageError(f"{path}: experiment {manifest['experiment']!r} is unknown; allowed: {', '.join(known)}")
        record = _run_record(path)
        finished = record.get("finished_ns", 0)
        run = Run(path, manifest, finished if isinstance(finished, int) else 0, seconds_by_part(record), record)
        key = (run.slug, run.experiment)
        if key not in chosen or run.finished_ns > chosen[key].finished_ns:
            chosen[key] = run
    if not chosen:
        raise UsageError(f"--runs {runs}: no manifests found; run `python -m generate precompute` first")
    for run in chosen.values():  # the site shows only frames whose bytes the manifest vouches for
        problems = verify_frames(run.path, run.manifest)
        if problems:
            raise UsageError(
                f"{run.path}: {len(problems)} frame(s) do not match the manifest, first: "
                f"{problems[0]}; rerun the precompute (`python -m generate verify` lists all)"
            )
    return chosen
