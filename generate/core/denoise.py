"""The batched UNet: any number of images in, in calls that fit the device's memory.

`Denoiser.denoise(x, t)` is what the reverse process calls as epsilon_theta(x_t, t) (or the model's
v / x0 prediction): one tensor of any batch size in, float32 in and out, the model's dtype inside.
It counts model calls and images, so experiments and benchmarks report cost in the paper's unit.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import torch

from ..errors import UsageError
from .guidance import null_label
from .loading import LoadedModel
from .memory import call_batch_for
from .traced import unet_call


@dataclass
class Denoiser:
    model: LoadedModel
    max_batch: int
    on_calls: Callable[[int], None] = lambda images: None  # progress, in images denoised
    calls: int = 0
    images: int = 0
    call_batch: int = 0  # images per UNet call: max_batch, or fewer where memory is short (memory.py)
    batch_sizes: Counter = field(default_factory=Counter)  # images per call -> calls, for benchmarks
    host_reserve: int = 0  # RAM (bytes) the caller keeps besides the UNet's: not for the call batch
    call_seconds: list = field(default_factory=list)  # wall time of every UNet call, in order (run.json's median)

    @torch.no_grad()
    def denoise(self, x: torch.Tensor, t: torch.Tensor, class_labels: torch.Tensor | None = None) -> torch.Tensor:
        """The UNet on a batch, in calls of at most `call_batch`; float32 in and out, model dtype inside.
        `class_labels`: one per image, for a class-conditional model (guidance.py). Without them such a
        model runs unconditionally, with its "no class" label: every lesson works on it unchanged."""
        model, outputs, start = self.model, [], 0
        null = null_label(model.unet)
        if class_labels is None and null is not None:
            class_labels = torch.full((x.shape[0],), null, dtype=torch.long)
        if not self.call_batch:
            self.call_batch = call_batch_for(
                model.unet, tuple(x.shape[1:]), model.device, model.dtype, self.max_batch, self.host_reserve
            )
        while start < x.shape[0]:
            size = min(self.call_batch, x.shape[0] - start)
            chunk = x[start : start + size].to(model.device, model.dtype, memory_format=torch.channels_last)
            began = time.perf_counter()
            try:
                labels = (
                    {}
                    if class_labels is None
                    else {"class_labels": class_labels[start : start + size].to(model.device)}
                )
                step_t = t[start : start + size].to(model.device)
                outputs.append(unet_call(model, chunk, step_t, labels.get("class_labels")).float())
                if model.device.type == "cuda":
                    torch.cuda.synchronize(model.device)  # the call's own time, not its launch (the step waits anyway)
            except torch.OutOfMemoryError:
                if size == 1:
                    raise UsageError(
                        f"out of memory on {model.device} even at one image per UNet call; "
                        "use a smaller model, --dtype float16, or another device"
                    ) from None
                del chunk
                self.call_batch = size // 2  # and retry this chunk; the frames stay the same cells
                if model.device.type == "cuda":
                    torch.cuda.empty_cache()
                continue
            start += size
            self.call_seconds.append(time.perf_counter() - began)
            self.calls += 1
            self.images += size
            self.batch_sizes[size] += 1
            self.on_calls(size)
        return torch.cat(outputs)
