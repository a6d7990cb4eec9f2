"""How many images one UNet call may take: the config's max_batch, or fewer where memory is short.

The batch is fitted to free memory before the first call. On a GPU a probe measures what one more
image costs at the peak (CUDA's allocator statistics), and an out-of-memory error halves it. On a CPU
there is no such error to catch (the machine swaps, or the process is killed), so the fit is all
there is: torch's profiler records every allocation of one 1-image call, whose peak (fixed costs
included, so on the safe side) is the cost of an image, and the batch is fitted to the RAM the
kernel reports available, less what the frame writer may hold. This only splits calls: which cells
form a unit is decided by max_batch alone. A GPU may round differently at another call size, so the
size used is recorded in each run.json (`call_batch`).
"""

from __future__ import annotations

import contextlib
import os

import torch

HEADROOM = 0.8  # of free memory: the allocator fragments, and frames wait on the host anyway
# What a precompute holds per image of a CPU call besides the UNet call's own peak, as a factor on
# it. Measured: a 256-px forward/backward run at call batch 64 peaked at 6.05 GB of RSS, a single
# 64-image call at 3.7 GB (52 MB per image by the profiler): the experiment's tensors, the frames
# being converted and written, and glibc's arenas add about three quarters again.
CPU_RUN_FACTOR = 1.75


def fit_batch(free_bytes: int, per_image_bytes: int, cap: int, headroom: float = HEADROOM) -> int:
    """The most images whose activations fit in `headroom` of `free_bytes`, between 1 and `cap`."""
    if per_image_bytes <= 0:
        return cap
    return max(1, min(cap, int(free_bytes * headroom) // per_image_bytes))


@torch.no_grad()
def per_image_bytes(
    unet: torch.nn.Module, shape: tuple[int, int, int], device: torch.device, dtype: torch.dtype
) -> int:
    """Peak CUDA memory of a 2-image call minus that of a 1-image call: the cost of one more image."""
    peaks = []
    for batch in (1, 2):
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        x = torch.zeros((batch, *shape), device=device, dtype=dtype).contiguous(memory_format=torch.channels_last)
        unet(x, torch.full((batch,), 500, device=device), **extra_inputs(unet, batch, device))
        torch.cuda.synchronize(device)
        peaks.append(torch.cuda.max_memory_allocated(device) - base)
        del x
    return max(1, peaks[1] - peaks[0])


def available_ram() -> int | None:
    """Bytes of RAM the kernel says can be used without swapping (Linux MemAvailable), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def extra_inputs(unet: torch.nn.Module, batch: int, device) -> dict:
    """What a class-conditional UNet needs besides x and t to run at all: a class label per image
    (any: a call's memory and time do not depend on which)."""
    if getattr(getattr(unet, "config", None), "num_class_embeds", None):
        return {"class_labels": torch.zeros(batch, dtype=torch.long, device=device)}
    return {}


@contextlib.contextmanager
def _quiet_stderr():
    """Some torch builds log two lines to fd 2 whenever the profiler starts and stops."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@torch.no_grad()
def cpu_call_bytes(unet: torch.nn.Module, shape: tuple[int, int, int], dtype: torch.dtype) -> int:
    """Peak bytes allocated during one 1-image UNet call on the CPU (the profiler's allocation
    records in time order, summed: allocations in the ops, frees in its [memory] events)."""
    x = torch.zeros((1, *shape), dtype=dtype).contiguous(memory_format=torch.channels_last)
    with _quiet_stderr(), torch.autograd.profiler.profile(profile_memory=True, use_kineto=False) as prof:
        unet(x, torch.full((1,), 500), **extra_inputs(unet, 1, x.device))
    events = sorted((e for e in prof.function_events if e.self_cpu_memory_usage), key=lambda e: e.time_range.start)
    live = peak = 0
    for event in events:
        live += event.self_cpu_memory_usage
        peak = max(peak, live)
    return max(1, peak)


def call_batch_for(
    unet: torch.nn.Module,
    shape: tuple[int, int, int],
    device: torch.device,
    dtype: torch.dtype,
    max_batch: int,
    host_reserve: int = 0,
) -> int:
    """`host_reserve`: RAM the caller keeps for itself (the precompute's frames waiting to be written)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return fit_batch(free, per_image_bytes(unet, shape, device, dtype), max_batch)
    if device.type != "cpu":
        return max_batch
    free = available_ram()
    if free is None:
        return max_batch
    per_image = int(CPU_RUN_FACTOR * cpu_call_bytes(unet, shape, dtype))
    return fit_batch(max(0, free - host_reserve), per_image, max_batch)
