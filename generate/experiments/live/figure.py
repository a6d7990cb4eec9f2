"""Live mode, the site side: the graph copied into the site, with what the browser needs to run it.

The figure data (generated/live.json, fetched only when a reader starts live mode) per model: the
graph's URL (content-addressed, so a browser cache never serves an old graph), its size and sha256,
the model's scheduler config (the JavaScript scheduler builds DDIM/DDPM from it as diffusers does),
the image shape, and how far ONNX Runtime was from PyTorch at export. A refused model carries why.
"""

from __future__ import annotations

import shutil

from ...toolkit.frames import axis


def build(run, sheets) -> dict:
    refused = run.manifest["axes"].get("refused")
    if refused:
        return {"available": False, "refused": str(refused)}
    (frame,) = run.manifest["frames"]
    name = f"unet-{frame['sha256'][:16]}.onnx"
    sheets.out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run.folder / frame["file"], sheets.out_dir / name)
    return {
        "available": True,
        "graph": f"{sheets.url_prefix}/{name}",
        "bytes": (run.folder / frame["file"]).stat().st_size,
        "sha256": frame["sha256"],
        "metrics": frame.get("metrics", {}),
        "scheduler_config": axis(run, "scheduler_config"),
        "shape": axis(run, "shape"),
        "start": axis(run, "scheduler"),
        "opset": axis(run, "opset"),
        "weights": axis(run, "weights"),
        # a class-conditional graph's "no class" label (its third input, class_labels); None: no such input
        "null_class": run.manifest["axes"].get("null_class"),
    }
