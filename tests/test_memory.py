"""Fitting UNet calls to memory: the arithmetic, and halving on out-of-memory with the same outputs."""

from __future__ import annotations

import pytest
import torch

from site_support import make_tiny_model
from generate.errors import UsageError
from generate.core.loading import load_model
from generate.core.memory import fit_batch
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
    context = Context(model=model, max_batch=16)
    out = context.denoise(x, t)
    assert torch.allclose(out, reference, atol=1e-5)
    # the failed size is halved until a call fits (10 -> 5 -> 2); later calls keep the fitted size
    assert model.unet.sizes == [10, 5, 2, 2, 2, 2, 2]
    assert context.call_batch == 2 and dict(context.batch_sizes) == {2: 5} and context.calls == 5


def test_out_of_memory_at_one_image_is_a_clear_error(tmp_path):
    model = load_model(str(make_tiny_model(tmp_path / "m", channels=1)), device="cpu")
    model.unet = OutOfMemoryAbove(model.unet, limit=0)
    with pytest.raises(UsageError, match="out of memory on cpu even at one image per UNet call"):
        Context(model=model, max_batch=4).denoise(torch.randn(3, 1, 16, 16), torch.full((3,), 10))
