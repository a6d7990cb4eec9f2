"""Shared by test_site.py and test_browser.py: one small real precompute and one site built from it.

Two tiny random UNets (colour and greyscale, 16 px) run the smoke grid once per test session; the
site is then built through the CLI. Cached at module level so both test files share one build.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import torch

_CACHE: dict[str, Path] = {}
MODELS = (("tiny-rgb", 3), ("tiny-grey", 1))


def make_tiny_model(folder: Path, channels: int) -> None:
    from conftest import make_tiny_model as make

    make(folder, channels=channels, seed=channels)


def built_site(tmp_path_factory) -> dict[str, Path]:
    """{'runs': runs folder, 'site': built site} — computed once per session."""
    if not _CACHE:
        from generate.cli import main
        from generate.config import load_config
        from generate.precompute import precompute

        base = tmp_path_factory.mktemp("site-build")
        runs = base / "runs"
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # the machine is shared with training; tiny models gain nothing from more
        try:
            for name, channels in MODELS:
                make_tiny_model(base / name, channels)
                precompute(load_config("smoke"), runs, models=[str(base / name)], progress=False, log=lambda *_: None)
        finally:
            torch.set_num_threads(threads)
        # the browser tests serve the site on this port; instant navigation needs site_url to match
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        assert main(["site", "--runs", str(runs), "--out", str(base / "site"),
                     "--site-url", f"http://127.0.0.1:{port}/"]) == 0
        _CACHE.update(runs=runs, site=base / "site", base=base, port=port)
    return dict(_CACHE)


def manifests(runs: Path) -> dict[tuple[str, str], dict]:
    """(model slug, experiment) -> manifest (the tests make one run of each)."""
    found = {}
    for path in sorted(runs.glob("*/*/*/manifest.json")):
        manifest = json.loads(path.read_text())
        found[(manifest["model"]["slug"], manifest["experiment"])] = manifest
    return found


def frame_file(manifest: dict, **coords) -> str:
    """The manifest's frame for these coords (numbers compared as numbers)."""
    for frame in manifest["frames"]:
        if frame["coords"].keys() == coords.keys() and all(
                frame["coords"][k] == v or (isinstance(v, (int, float)) and frame["coords"][k] == float(v))
                for k, v in coords.items()):
            return frame["file"]
    raise AssertionError(f"manifest has no frame at {coords}")


_DEFAULT: dict[str, Path] = {}


def default_runs(tmp_path_factory) -> Path:
    """The default config's precompute on the shipped models, as `make site` makes it (once per session,
    a few minutes on a 2-core CPU): the runs the lessons' claims are checked against.

    NTI_DEFAULT_RUNS=DIR reuses a runs folder that `make precompute` made (the newest run of each
    experiment is read, as the site build reads it), to iterate on the claims without the wait."""
    import os

    if not _DEFAULT and os.environ.get("NTI_DEFAULT_RUNS"):
        _DEFAULT["runs"] = Path(os.environ["NTI_DEFAULT_RUNS"])
    if not _DEFAULT:
        from generate.config import load_config
        from generate.precompute import precompute

        runs = tmp_path_factory.mktemp("default-runs") / "runs"
        precompute(load_config("default"), runs, progress=False, log=lambda *_: None)
        _DEFAULT["runs"] = runs
    return _DEFAULT["runs"]


_DEFAULT_SITE: dict[str, Path] = {}


def default_site(tmp_path_factory) -> dict[str, Path]:
    """The site built from the default runs (both shipped 32-px models, every default grid): the
    pages a reader gets from `make site`, for the layout checks that depend on real sizes and labels."""
    if not _DEFAULT_SITE:
        from generate.cli import main

        runs = default_runs(tmp_path_factory)
        base = tmp_path_factory.mktemp("default-site")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        assert main(["site", "--runs", str(runs), "--out", str(base / "site"),
                     "--site-url", f"http://127.0.0.1:{port}/"]) == 0
        _DEFAULT_SITE.update(runs=runs, site=base / "site", base=base, port=port)
    return dict(_DEFAULT_SITE)
