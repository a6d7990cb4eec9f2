"""Live mode, the site side: ONNX Runtime Web served from the site itself, and the graphs' records.

The runtime comes from the npm registry at the version site_src/package.json pins (its lock file
holds the package's integrity; `make live-runtime` runs `npm ci`) and is checked file by file against
the sha256 pinned here before it is copied under assets/vendor/: no CDN, and no other build of it.
Only the WebAssembly build is served (one thread: WebAssembly threads need cross-origin isolation,
which a static host does not give). A build without the runtime has no live mode and says why.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from ..paths import REPO

VERSION = json.loads((REPO / "site_src" / "package.json").read_text(encoding="utf-8"))["dependencies"][
    "onnxruntime-web"
]
FILES = {  # dist/ file -> sha256 of onnxruntime-web@1.30.0 from registry.npmjs.org (the version above)
    # the ES module build: live mode's module worker imports it
    "ort.wasm.min.mjs": "219e6a1fc8a9938268d18efca3c91d310bd2f4a59bbd13744df5b2b7fc6cee3b",
    "ort-wasm-simd-threaded.mjs": "e13f7f94fc51b4ca72b12faeb1ee95f4ace6dfbc8939bc718aabdc0a27c4299b",
    "ort-wasm-simd-threaded.wasm": "3398c10d07d229bd91b364548e130e0e51a8e5704b88c7c083ebbeb78842dee2",
}
VENDOR = "assets/vendor/onnxruntime-web"  # inside the site
INSTALL = f"make live-runtime (npm ci into .cache/npm: onnxruntime-web@{VERSION})"


def runtime_dir() -> Path:
    """Where the npm package's dist/ is: $NTI_ONNXRUNTIME_WEB, else .cache/npm (make live-runtime)."""
    given = os.environ.get("NTI_ONNXRUNTIME_WEB")
    return Path(given) if given else REPO / ".cache" / "npm" / "node_modules" / "onnxruntime-web" / "dist"


def runtime_problem(dist: Path) -> str | None:
    """Why `dist` is not the pinned runtime, or None when every file is there with its pinned hash."""
    for name, digest in FILES.items():
        path = dist / name
        if not path.is_file():
            return f"{path} not found; {INSTALL}"
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            return f"{path} is not onnxruntime-web {VERSION} (sha256 differs); {INSTALL}"
    return None


def stage_runtime(docs: Path, dist: Path | None = None) -> str | None:
    """Copy the pinned runtime under docs/VENDOR; return why live mode is left out, or None."""
    dist = dist or runtime_dir()
    problem = runtime_problem(dist)
    if problem:
        return problem
    target = docs / VENDOR
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(dist / name, target / name)
    return None


def attach(figures: dict[str, list[dict]], missing_runtime: str | None) -> None:
    """Give every figure's model its live record (graph URL, scheduler config, shape), or why not.

    The records come from the `live` experiment's figure data (experiments/live/figure.py); its URLs
    are relative to the generated/ folder, as every figure's are."""
    records = {m["slug"]: m for m in figures.get("live", [])}
    for experiment, models in figures.items():
        if experiment == "live":
            continue
        for model in models:
            record = records.get(model["slug"])
            if missing_runtime:
                model["live"] = {"available": False, "why": "live mode is not part of this build (no runtime)"}
            elif record is None:
                model["live"] = {"available": False, "why": "no live export of this model in the runs"}
            elif not record.get("available"):
                model["live"] = {"available": False, "why": record.get("refused", "not exported")}
            else:
                model["live"] = {
                    k: record.get(k)
                    for k in ("available", "graph", "bytes", "scheduler_config", "shape", "start", "null_class")
                }
