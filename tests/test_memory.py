"""Fitting UNet calls to memory: the arithmetic, and halving on out-of-memory with the same outputs."""

from __future__ import annotations

import pytest
import torch
from site_support import make_tiny_model

from generate.core import memory
from generate.core.loading import load_model
from generate.core.memory import call_batch_for, cpu_call_bytes, fit_batch
from generate.errors import UsageError
from generate.precompute.context import Context


def test_fit_batch_uses_headroom_of_free_memory_within_one_and_the_cap():
    assert fit_batch(free_bytes=1000, per_image_bytes=100, cap=64, headroom=0.8) == 8
    assert fit_batch(free_bytes=10**12, per_image_bytes=100, cap=64) == 64
    assert fit_batch(free_bytes=50, per_image_bytes=100, cap=64) == 1  # one image is always tried
    assert fit_batch(free_bytes=1000, per_image_bytes=0, cap=64) == 64


class OutOfMemoryAbove(torch.nn.Module):
    """The real UNet, but a call with more than `limit` images fails as CUDA would."""

    def __init__(self, unet, limit: int):
        super().__init__()
        self.unet, self.limit, self.sizes = unet, limit, []

    def forward(self, x, t):
        self.sizes.append(x.shape[0])
        if x.shape[0] > self.limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.unet(x, t)


def test_out_of_memory_halves_the_call_batch_and_gives_the_same_outputs(tmp_path):
    model = load_model(str(make_tiny_model(tmp_path / "m", channels=3)), device="cpu")
    x, t = torch.randn(10, 3, 16, 16), torch.full((10,), 700)
    reference = Context(model=model, max_batch=16).denoise(x, t)
    model.unet = OutOfMemoryAbove(model.unet, limit=3)
    context = Context(model=model, max_batch=16, call_batch=16)  # as fitted to memory, before the error
    out = context.denoise(x, t)
    assert torch.allclose(out, reference, atol=1e-5)
    # the failed size is halved until a call fits (10 -> 5 -> 2); later calls keep the fitted size
    assert model.unet.sizes == [10, 5, 2, 2, 2, 2, 2]
    assert context.call_batch == 2 and dict(context.batch_sizes) == {2: 5} and context.calls == 5


def test_out_of_memory_at_one_image_is_a_clear_error(tmp_path):
    model = load_model(str(make_tiny_model(tmp_path / "m", channels=1)), device="cpu")
    model.unet = OutOfMemoryAbove(model.unet, limit=0)
    with pytest.raises(UsageError, match="out of memory on cpu even at one image per UNet call"):
        Context(model=model, max_batch=4, call_batch=4).denoise(torch.randn(3, 1, 16, 16), torch.full((3,), 10))


def test_a_cpu_call_batch_is_fitted_to_available_ram(tmp_path, monkeypatch):
    """The profiler's peak of a 1-image call grows with the image; the batch is what fits the RAM the
    kernel reports available (less the caller's reserve), with the same headroom as on a GPU."""
    small = load_model(str(make_tiny_model(tmp_path / "s", channels=3, size=16)), device="cpu")
    large = load_model(str(make_tiny_model(tmp_path / "l", channels=3, size=64)), device="cpu")
    per_image = cpu_call_bytes(small.unet, (3, 16, 16), torch.float32)
    assert cpu_call_bytes(large.unet, (3, 64, 64), torch.float32) > 8 * per_image  # 16 times the pixels
    monkeypatch.setattr(memory, "available_ram", lambda: int(10 * memory.CPU_RUN_FACTOR * per_image) + 1000)
    assert call_batch_for(small.unet, (3, 16, 16), small.device, small.dtype, 64, host_reserve=1000) == 8
    assert call_batch_for(small.unet, (3, 16, 16), small.device, small.dtype, 4) == 4  # never above max_batch
    context = Context(model=small, max_batch=64, host_reserve=1000)
    context.denoise(torch.randn(12, 3, 16, 16), torch.full((12,), 500))
    assert context.call_batch == 8 and dict(context.batch_sizes) == {8: 1, 4: 1}
    monkeypatch.setattr(memory, "available_ram", lambda: None)  # unknown: the config's max_batch
    assert call_batch_for(small.unet, (3, 16, 16), small.device, small.dtype, 64) == 64
