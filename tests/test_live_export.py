"""Live mode's precompute and build side: the UNet exported to ONNX as a frame set of the run (checked
against PyTorch with ONNX Runtime, deterministic, refused for large models or a bad graph), and the
site's pinned runtime and per-model live records."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from generate.core.loading import load_model
from generate.errors import UsageError
from generate.experiments.live.compute import HALF_MIN_ELEMENTS
from generate.manifest import find_manifests, read_manifest
from generate.precompute import precompute
from generate.precompute.config import load_config
from generate.site import live

CONFIG = """
models = ["{model}"]
[run]
max_batch = 4
[live]
{extra}
"""


def export(tmp_path: Path, model: Path, extra: str = "", name: str = "runs") -> dict:
    config = tmp_path / f"{name}.toml"
    config.write_text(CONFIG.format(model=model, extra=extra))
    runs = tmp_path / name
    precompute(load_config(str(config)), runs, only=["live"], progress=False, log=lambda *_: None)
    [path] = find_manifests(runs)
    return {"path": path, "manifest": read_manifest(path)}


def session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(path.read_bytes(), options, providers=["CPUExecutionProvider"])


def test_the_graph_answers_as_the_unet_does_at_any_batch_and_timestep(tmp_path, tiny_grey_v):
    run = export(tmp_path, tiny_grey_v)
    manifest = run["manifest"]
    [frame] = manifest["frames"]
    graph = run["path"].parent / frame["file"]
    assert frame["file"] == "frames/unet.onnx"
    assert hashlib.sha256(graph.read_bytes()).hexdigest() == frame["sha256"]
    assert manifest["axes"]["opset"] == 17 and manifest["axes"]["weights"] == "float16"
    assert manifest["axes"]["scheduler_config"]["prediction_type"] == "v_prediction"
    assert 0 < frame["metrics"]["max_abs_error"] <= 0.02  # float16 weights move the output a little, not more
    assert frame["metrics"]["max_abs_error_float32"] <= 1e-4
    model = load_model(str(tiny_grey_v), device="cpu", dtype="float32")
    shape = manifest["axes"]["shape"]
    # a batch size and timesteps the export never saw: the batch axis is dynamic, t an input
    x = torch.randn((3, *shape), generator=torch.Generator().manual_seed(7))
    t = torch.tensor([981, 333, 1])
    with torch.no_grad():
        expected = model.unet(x, t).sample.numpy()
    got = session(graph).run(None, {"sample": x.numpy(), "timestep": t.float().numpy()})[0]
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 0.02
    assert np.abs(got - expected).max() > 0  # float16 weights: not the same numbers, so the check above means something


def test_a_class_conditional_graph_takes_class_labels_and_answers_both_branches(tmp_path):
    """Guidance's live mode sends the class and "no class" copies of x_t as one batch: the graph of a
    class-conditional UNet takes class_labels, and gives the UNet's answer for each label in the batch."""
    from site_support import make_tiny_model

    folder = make_tiny_model(tmp_path / "tiny-cond", channels=1, classes=3)
    run = export(tmp_path, folder)
    manifest = run["manifest"]
    assert manifest["axes"]["null_class"] == 3
    graph = session(run["path"].parent / manifest["frames"][0]["file"])
    assert [i.name for i in graph.get_inputs()] == ["sample", "timestep", "class_labels"]
    model = load_model(str(folder), device="cpu", dtype="float32")
    x = torch.randn((1, *manifest["axes"]["shape"]), generator=torch.Generator().manual_seed(3)).repeat(4, 1, 1, 1)
    t = torch.tensor([500, 500, 20, 20])
    labels = torch.tensor([2, 3, 0, 3])  # a class, then "no class", at two timesteps
    with torch.no_grad():
        expected = model.unet(x, t, class_labels=labels).sample.numpy()
    got = graph.run(None, {"sample": x.numpy(), "timestep": t.float().numpy(), "class_labels": labels.numpy()})[0]
    assert np.abs(got - expected).max() <= 0.02
    assert np.abs(got[0] - got[1]).max() > 0.01, "the label reaches the output: the two branches differ"


def test_float32_weights_give_the_unets_numbers(tmp_path, tiny_grey_v):
    run = export(tmp_path, tiny_grey_v, 'weights = "float32"')
    [frame] = run["manifest"]["frames"]
    assert frame["metrics"]["max_abs_error"] == frame["metrics"]["max_abs_error_float32"] <= 1e-4
    half = export(tmp_path, tiny_grey_v, name="half")
    graph = lambda r: onnx.load(str(r["path"].parent / r["manifest"]["frames"][0]["file"])).graph
    large = lambda g, kind: sum(
        int(np.prod(i.dims)) for i in g.initializer if i.data_type == kind and np.prod(i.dims) >= HALF_MIN_ELEMENTS
    )
    # every large weight is stored in half precision (half the bytes), each with its Cast back to float32
    assert large(graph(run), onnx.TensorProto.FLOAT) > 0
    assert large(graph(half), onnx.TensorProto.FLOAT16) == large(graph(run), onnx.TensorProto.FLOAT)
    assert large(graph(half), onnx.TensorProto.FLOAT) == 0
    casts = [n for n in graph(half).node if n.op_type == "Cast" and n.input[0].endswith(".float16")]
    assert len(casts) == sum(1 for i in graph(half).initializer if i.data_type == onnx.TensorProto.FLOAT16)


def test_the_export_is_byte_stable(tmp_path, tiny_grey_v):
    first, second = export(tmp_path, tiny_grey_v, name="a"), export(tmp_path, tiny_grey_v, name="b")
    assert first["manifest"]["frames"] == second["manifest"]["frames"]
    assert first["manifest"]["run_key"] == second["manifest"]["run_key"]


def test_a_model_over_the_size_limit_gets_no_graph_and_says_why(tmp_path, tiny_grey_v):
    run = export(tmp_path, tiny_grey_v, "max_parameters = 1000")
    assert run["manifest"]["frames"] == []
    assert "live.max_parameters = 1,000" in run["manifest"]["axes"]["refused"]


def test_a_graph_that_differs_from_pytorch_is_refused_with_the_setting_to_change(tmp_path, tiny_grey_v):
    with pytest.raises(UsageError, match=r"live.tolerance.*float32"):
        export(tmp_path, tiny_grey_v, "tolerance = 0.0")
    assert not list((tmp_path / "runs").glob("*/live/*/manifest.json"))  # nothing half-written


def test_bad_live_settings_are_named(tmp_path, tiny_grey_v):
    with pytest.raises(UsageError, match=r"live.weights.*float16.*float32"):
        export(tmp_path, tiny_grey_v, 'weights = "int8"')


def test_the_runtime_is_checked_file_by_file(tmp_path):
    dist = live.runtime_dir()
    assert live.runtime_problem(dist) is None, "make live-runtime installs it (the test target depends on it)"
    copy = tmp_path / "dist"
    copy.mkdir()
    for name in live.FILES:
        (copy / name).write_bytes((dist / name).read_bytes())
    docs = tmp_path / "docs"
    assert live.stage_runtime(docs, copy) is None
    assert sorted(p.name for p in (docs / live.VENDOR).iterdir()) == sorted(live.FILES)
    (copy / "ort.wasm.min.mjs").write_bytes(b"// another build")
    problem = live.stage_runtime(tmp_path / "docs2", copy)
    assert "ort.wasm.min.mjs" in problem and "1.30.0" in problem and "make live-runtime" in problem
    (copy / "ort.wasm.min.mjs").unlink()
    assert "not found" in live.stage_runtime(tmp_path / "docs3", copy)


def test_every_figure_model_says_whether_it_can_run_live():
    figures = {
        "live": [
            {
                "slug": "a",
                "available": True,
                "graph": "../frames/a/live/unet-1.onnx",
                "bytes": 5,
                "scheduler_config": {"num_train_timesteps": 1000},
                "shape": [1, 32, 32],
                "start": "ddim",
                "null_class": 10,
            },
            {"slug": "b", "available": False, "refused": "2,000,000 parameters, over ..."},
        ],
        "reverse": [{"slug": "a"}, {"slug": "b"}, {"slug": "c"}],
    }
    live.attach(figures, None)
    a, b, c = figures["reverse"]
    assert a["live"]["available"] and a["live"]["graph"].endswith("unet-1.onnx") and a["live"]["shape"] == [1, 32, 32]
    assert a["live"]["null_class"] == 10  # the class-conditional graph's "no class" label, for guidance's live mode
    assert b["live"] == {"available": False, "why": "2,000,000 parameters, over ..."}
    assert c["live"]["available"] is False and "no live export" in c["live"]["why"]
    live.attach(figures, "no runtime")
    assert all(not m["live"]["available"] for m in figures["reverse"])
