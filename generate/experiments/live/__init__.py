"""Live mode, the precompute side's part: the model's UNet as an ONNX graph the reader's browser runs.

No lesson page of its own: the figures of the other lessons offer live mode where this run exists.
One unit per model, `export`:
    unet   the UNet2DModel as ONNX (torch.onnx.export, opset OPSET, dynamic batch), inputs
           sample (N, C, H, W) float32 and timestep (N,) float32, and for a class-conditional model
           class_labels (N,) int64 (axes.null_class is its "no class" label), output model_output
           (N, C, H, W): what the model predicts (epsilon, v or x_0: the scheduler config says which).
           Guidance's live mode sends the class and "no class" copies of an image as one batch of 2.
           Weights stored in float16 (`weights = "float16"`, each followed by a Cast to float32 that
           ONNX Runtime folds when it loads the graph: the arithmetic stays float32) or float32.
The export is checked before it is written: ONNX Runtime (CPU) on a few inputs against PyTorch, once
for the graph as exported (float32, at most GRAPH_TOLERANCE apart) and once as stored (at most
`tolerance` apart: float16 weights move the output by about 1e-3). A model with more than
`max_parameters` parameters (a 256-px author model) gets no graph: its run records why
(axes.refused), and the site says so beside the figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...toolkit.contract import Experiment, Panel, setting
from . import figure

OPSET = 17  # pinned: ONNX Runtime Web 1.30 runs it; a new opset is a new run key (it enters the section)
GRAPH_TOLERANCE = 1e-4  # float32 graph vs PyTorch, max |difference| of the model output


@dataclass
class LiveConfig:
    scheduler: str = setting("ddim", choices=("ddim", "ddpm"), help="the sampler live mode starts with")
    max_parameters: int = setting(
        20_000_000, low=0, high=10**10, help="larger models get no browser graph (download size, speed)"
    )
    weights: str = setting(
        "float16",
        choices=("float16", "float32"),
        help="how the graph stores its weights (the arithmetic is float32 either way)",
    )
    tolerance: float = setting(
        0.02, low=0.0, high=1.0, help="max |ONNX Runtime - PyTorch| of the model output allowed at export"
    )
    opset: int = setting(OPSET, low=OPSET, high=OPSET, help="ONNX opset of the graph (pinned)")


UNET = Panel("unet", (), "unet", "the UNet as an ONNX graph (sample, timestep) -> model_output", suffix="onnx")

LIVE = Experiment(
    name="live",
    summary="the UNet exported to ONNX for live mode in the reader's browser (small models only)",
    config=LiveConfig,
    panels=(UNET,),
    plan="generate.experiments.live.compute:plan",
    figure=figure.build,
    page=None,
    smoke={"weights": "float16"},
)
