"""How many images one UNet call may take: the config's max_batch, or fewer where memory is short.

On a GPU the batch is fitted to free memory before the first call (a probe measures what one more
image costs at the peak), and halved on an out-of-memory error; on a CPU it is max_batch. This only
splits calls: which cells form a unit is decided by max_batch alone. A GPU may round differently at
another call size, so the size used is recorded in each run.json (`call_batch`).
"""

from __future__ import annotations

import torch

HEADROOM = 0.8  # of free memory: the allocator fragments, and frames wait on the host anyway


def fit_batch(free_bytes: int, per_image_bytes: int, cap: int, headroom: float = HEADROOM) -> int:
    """The most images whose activations fit in `headroom` of `free_bytes`, between 1 and `cap`."""
    if per_image_bytes <= 0:
        return cap
    return max(1, min(cap, int(free_bytes * headroom) // per_image_bytes))


@torch.no_grad()
def per_image_bytes(unet: torch.nn.Module, shape: tuple[int, int, int], device: torch.device,
                    dtype: torch.dtype) -> int:
    """Peak CUDA memory of a 2-image call minus that of a 1-image call: the cost of one more image."""
    peaks = []
    for batch in (1, 2):
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        x = torch.zeros((batch, *shape), device=device, dtype=dtype).contiguous(memory_format=torch.channels_last)
        unet(x, torch.full((batch,), 500, device=device))
        torch.cuda.synchronize(device)
        peaks.append(torch.cuda.max_memory_allocated(device) - base)
        del x
    return max(1, peaks[1] - peaks[0])


def call_batch_for(unet: torch.nn.Module, shape: tuple[int, int, int], device: torch.device,
                   dtype: torch.dtype, max_batch: int) -> int:
    if device.type != "cuda":
        return max_batch
    free, _ = torch.cuda.mem_get_info(device)
    return fit_batch(free, per_image_bytes(unet, shape, device, dtype), max_batch)
