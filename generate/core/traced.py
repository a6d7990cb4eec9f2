"""The UNet as a frozen TorchScript trace on the CPU: the same numbers, bit for bit, in less time.

`unet_call(model, x, t, labels)` is `model.unet(x, t, class_labels=labels).sample`. On a CPU in
float32 it runs a trace of that call, frozen (the weights folded into the graph, the Python of
diffusers' forward, its argument handling and shape checks, gone), made on the model's first call
and kept on the model (`LoadedModel.traced`, with the UNet it was made from): one per timestep
dtype and with or without labels.
That first call also runs the eager UNet, and the trace is used only if its output is bit for bit
the eager one's; otherwise, or if tracing fails, the model stays eager. So the frames, and every
run key, are what they were.

Measured 2026-12-06 on the project's 2-core CPU, one thread: fashion-32's UNet alone at batch 4 /
16 / 64, 95 / 108 / 105 images/s eager against 107 / 120 / 117 traced; for the three shipped models
the outputs bit for bit equal at every batch size from 1 to 64; the default precompute of all three
in two processes 391 core-seconds against 412 eager (the scheduler steps, frame encoding and writes
are the rest), every frame, manifest and stored trajectory byte for byte the same. Tracing costs
about 0.3 s a model. tests/test_precompute.py checks the exactness rule on tiny models. On a GPU
the config's `compile` (torch.compile) is the tool instead, so this is CPU and float32 only.
"""

from __future__ import annotations

import warnings

import torch


class UNetCall(torch.nn.Module):
    """(x, t[, labels]) -> the UNet's output tensor, without diffusers' output object: a signature the
    tracers follow (this TorchScript trace, and the live experiment's ONNX export)."""

    def __init__(self, unet: torch.nn.Module):
        super().__init__()
        self.unet = unet

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.unet(x, t, class_labels=labels).sample


def traceable(model) -> bool:
    """CPU, float32, and diffusers' UNet itself: not a torch.compile'd one (an OptimizedModule), nor
    any wrapper whose Python a trace would run once and then skip."""
    from diffusers import UNet2DModel

    return model.device.type == "cpu" and model.dtype == torch.float32 and type(model.unet) is UNet2DModel


def _trace(unet: torch.nn.Module, args: tuple) -> torch.jit.ScriptModule | None:
    try:
        with warnings.catch_warnings():
            # the tracer's notes on diffusers' shape checks (constant for one image size) are noise here
            warnings.simplefilter("ignore")
            return torch.jit.freeze(torch.jit.trace(UNetCall(unet).eval(), args, check_trace=False))
    except Exception:  # any model the tracer cannot follow simply stays eager
        return None


@torch.no_grad()
def unet_call(model, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """The UNet's output for (x, t, labels): traced where that gives the eager numbers exactly."""
    eager = lambda: model.unet(x, t, **({} if labels is None else {"class_labels": labels})).sample
    if not traceable(model):
        return eager()
    key = (t.dtype, labels is not None)
    unet, traced = model.traced.get(key, (None, None))
    args = (x, t) if labels is None else (x, t, labels)
    if unet is not model.unet:  # first call (of this UNet): trace it, keep the trace only if it answers exactly
        expected = eager()
        traced = _trace(model.unet, args)
        exact = traced is not None and torch.equal(traced(*args), expected)
        model.traced[key] = (model.unet, traced if exact else False)
        return expected
    return traced(*args) if traced is not False else eager()
