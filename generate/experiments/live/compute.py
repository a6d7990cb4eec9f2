"""Live mode, the precompute side: export the UNet to ONNX, check it against PyTorch, emit the graph.

Notation: sample -> x_t, timestep -> t, model_output -> eps_theta(x_t, t) (or v, or x_0 as the
scheduler config's prediction_type says). The browser feeds t as float32: diffusers' timestep
embedding turns t into float before anything else, so a float t gives the same numbers as a long one.
"""

from __future__ import annotations

import copy
import io
import warnings

import numpy as np
import torch

from ...core.guidance import null_label
from ...core.traced import UNetCall
from ...errors import UsageError
from ...spacing import sampling_config
from ...toolkit.units import Plan, Unit
from . import GRAPH_TOLERANCE, UNET

HALF_MIN_ELEMENTS = 4096  # smaller tensors (biases, norms, the timestep embedding's frequencies) stay float32
CHECK_TIMESTEPS = (999, 500, 20, 0)  # the export check: one input per timestep, batch of them at once


# The exported call is core/traced.py's UNetCall: (sample, timestep[, class_labels]) -> model_output. A
# class-conditional UNet takes its labels as a third input, so one graph gives both branches of
# classifier-free guidance in one call (a batch of the class and the "no class" label,
# core/guidance.py); the other lessons' live runs give it the "no class" label, as they sample it.


def check_labels(unet: torch.nn.Module, count: int) -> torch.Tensor | None:
    """Labels of the export check (int64): classes and "no class" in turn, so both branches are checked."""
    null = null_label(unet)
    if null is None:
        return None
    return torch.tensor([i // 2 % null if i % 2 == 0 else null for i in range(count)], dtype=torch.long)


def parameters(unet: torch.nn.Module) -> int:
    return sum(p.numel() for p in unet.parameters())


EXPORT_CALLS, EXPORT_SECONDS = 80, 1.0  # the estimate of an export (estimate.py), see plan()


def plan(cfg, model, max_batch: int, source: str) -> Plan:
    count = parameters(model.unet)
    shape = [model.channels, model.sample_size, model.sample_size]
    describe = {
        "shape": shape,
        "scheduler_config": sampling_config(model.scheduler_config),
        "scheduler": cfg.scheduler,
        "opset": cfg.opset,
        "weights": cfg.weights,
        "parameters": count,
    }
    if null_label(model.unet) is not None:  # the graph's third input, class_labels: 0 to null - 1 are classes
        describe["null_class"] = null_label(model.unet)
    if count > cfg.max_parameters:
        return Plan(
            units=[],
            describe=dict(
                describe,
                refused=(
                    f"{count:,} parameters, over live.max_parameters = {cfg.max_parameters:,}: too large to "
                    "download and run in a browser tab"
                ),
            ),
        )

    def compute(ctx, emit) -> None:
        graph, metrics = export(model.unet, shape, cfg.opset, cfg.weights, cfg.tolerance)
        emit(UNET, graph, metrics)

    # The export's cost, measured on the shipped 32-px models (2.7 M parameters): 1.7-2.6 s, 60-100
    # one-image calls' worth of tracing, checking and encoding, plus a second of ONNX set-up.
    unit = Unit(
        key="export",
        images=0,
        compute=compute,
        frames=1,
        extra_calls=EXPORT_CALLS,
        extra_seconds=EXPORT_SECONDS,
        content={
            "opset": cfg.opset,
            "weights": cfg.weights,
            "tolerance": cfg.tolerance,
            "half_min_elements": HALF_MIN_ELEMENTS,
            "check": CHECK_TIMESTEPS,
        }
        # a class-conditional graph takes its labels (a new key, so an older export is not reused)
        | ({"class_input": True} if "null_class" in describe else {}),
    )
    return Plan(units=[unit], describe=describe)


def export(unet: torch.nn.Module, shape: list[int], opset: int, weights: str, tolerance: float) -> tuple[bytes, dict]:
    """The graph's bytes (deterministic for a given model and torch/onnx version) and the check's numbers."""
    cpu = UNetCall(copy.deepcopy(unet).to("cpu", torch.float32)).eval()
    sample = torch.randn((len(CHECK_TIMESTEPS), *shape), generator=torch.Generator().manual_seed(0))
    timestep = torch.tensor(CHECK_TIMESTEPS, dtype=torch.float32)
    labels = check_labels(unet, len(CHECK_TIMESTEPS))
    inputs = {"sample": sample, "timestep": timestep} | ({"class_labels": labels} if labels is not None else {})
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # the tracer's notes on diffusers' shape asserts (constant for a fixed image size) are noise here
        warnings.simplefilter("ignore")
        torch.onnx.export(
            cpu,
            tuple(inputs.values()),
            buffer,
            dynamo=False,
            opset_version=opset,
            input_names=list(inputs),
            output_names=["model_output"],
            dynamic_axes={name: {0: "batch"} for name in [*inputs, "model_output"]},
        )
        expected = cpu(*inputs.values()).numpy()
    graph = buffer.getvalue()
    feeds = {name: value.numpy() for name, value in inputs.items()}
    graph_error = _check(graph, feeds, expected, GRAPH_TOLERANCE, "as exported (float32)")
    metrics = {"max_abs_error_float32": graph_error}
    if weights == "float16":
        graph = half_weights(graph)
        metrics["max_abs_error"] = _check(graph, feeds, expected, tolerance, "with float16 weights")
    else:
        metrics["max_abs_error"] = graph_error
    metrics["output_rms"] = float(np.sqrt(np.mean(expected.astype(np.float64) ** 2)))
    return graph, metrics


def half_weights(graph: bytes) -> bytes:
    """Store every large float32 weight as float16 followed by a Cast back to float32 (same name), so
    the graph computes in float32 and downloads at about half the size."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load_from_string(graph)
    kept, casts = [], []
    for init in model.graph.initializer:
        if init.data_type == TensorProto.FLOAT and int(np.prod(init.dims)) >= HALF_MIN_ELEMENTS:
            half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), f"{init.name}.float16")
            kept.append(half)
            casts.append(
                helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=f"{init.name}.cast")
            )
        else:
            kept.append(init)
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    nodes = casts + list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _check(graph: bytes, feeds: dict[str, np.ndarray], expected: np.ndarray, tolerance: float, what: str) -> float:
    """ONNX Runtime (CPU, one thread) on the check inputs; refuse a graph further than `tolerance`."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise UsageError(
            "[live]: checking the exported graph needs onnxruntime; install the precompute "
            "extra (pip install -e '.[precompute]') or leave live out (--only ...)"
        ) from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    got = session.run(None, feeds)[0]
    error = float(np.abs(got - expected).max())
    if not np.isfinite(error) or error > tolerance:
        raise UsageError(
            f"[live]: the ONNX graph {what} differs from PyTorch by {error:.3g} (max |difference| "
            f"of the model output; allowed {tolerance:g}, live.tolerance); this model does not "
            'export faithfully: set live.weights = "float32", or leave live out (--only ...)'
        )
    return error
