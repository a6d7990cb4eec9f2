"""The batched reverse process shared by every experiment (DDPM Algorithm 2 / DDIM eq. 12).

Notation (code name -> paper symbol):
    sample / x_t            x_t, the noisy image at timestep t
    model_output            what the UNet returns: eps, x_0 or v depending on `prediction_type`
    pred_epsilon / eps      epsilon_theta(x_t, t), the predicted noise
    pred_original_sample    x_0 estimate, "the image minus the predicted noise"
    alpha_bar               alpha_bar_t = prod_{s<=t} (1 - beta_s);  SNR_t = alpha_bar_t / (1 - alpha_bar_t)
    prev_sample             x_{t-1} (DDPM) or x_{t_prev} (DDIM), the scheduler's output

Seeds follow diffusers' pipelines: the start noise of seed s is `randn_tensor(shape,
generator=torch.Generator().manual_seed(s))`, and DDPM's per-step noise is drawn from that same
generator. A batch of seeds therefore carries one CPU generator per sample, so each sample gets
exactly the numbers `DDPMPipeline(generator=manual_seed(s))` would draw for it alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from diffusers import DDIMScheduler, DDPMScheduler
from diffusers.utils.torch_utils import randn_tensor

from ..streams import stream_seed  # noqa: F401  (re-exported: the experiments seed their streams with it)

Scheduler = DDPMScheduler | DDIMScheduler
Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x_t batch, t batch) -> output


@dataclass
class Step:
    """One reverse step for a batch: the four panels of the reverse-process figure."""

    timestep: int
    sample: torch.Tensor  # x_t (input)
    model_output: torch.Tensor  # eps, x_0 or v, as the model was trained
    pred_original_sample: torch.Tensor  # x_0 estimate
    prev_sample: torch.Tensor  # next x
    scheduler: "Scheduler"

    @property
    def pred_epsilon(self) -> torch.Tensor:
        """eps, derived only when a figure shows it (most experiments never do)."""
        return split_prediction(self.scheduler, self.model_output.float(), self.sample.float(), self.timestep)[0]


def generators(seeds: Sequence[int]) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(int(seed)) for seed in seeds]


def start_noise(
    shape: tuple[int, int, int], gens: list[torch.Generator], device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """x_T ~ N(0, I), one sample per generator, as `DDPMPipeline` / `DDIMPipeline` draw it."""
    noise = randn_tensor((len(gens), *shape), generator=gens, device=torch.device("cpu"), dtype=torch.float32)
    return noise.to(device=device, dtype=dtype)


def alpha_bar(scheduler: Scheduler, timestep: int) -> float:
    return float(scheduler.alphas_cumprod[int(timestep)])


def split_prediction(
    scheduler: Scheduler, model_output: torch.Tensor, sample: torch.Tensor, timestep: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (eps, x_0) from the model output, whatever the model was trained to predict.

    DDPM eq. 4 gives x_t = sqrt(a) x_0 + sqrt(1 - a) eps; v = sqrt(a) eps - sqrt(1 - a) x_0.
    """
    a = alpha_bar(scheduler, timestep)
    sa, sb = a**0.5, (1 - a) ** 0.5
    kind = scheduler.config.prediction_type
    if kind == "epsilon":
        eps = model_output
        x0 = (sample - sb * eps) / sa
    elif kind == "sample":
        x0 = model_output
        eps = (sample - sa * x0) / sb
    elif kind == "v_prediction":
        x0 = sa * sample - sb * model_output
        eps = sa * model_output + sb * sample
    else:
        raise ValueError(f"prediction_type {kind!r}: allowed epsilon, sample, v_prediction")
    return eps, x0


def reverse_process(
    denoise: Denoiser,
    scheduler: Scheduler,
    x_T: torch.Tensor,
    gens: list[torch.Generator] | None,
    on_step: Callable[[int, Step], None],
    start_index: int = 0,
    inject: Callable[[int, torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Run the scheduler's timesteps from `start_index` on a batch that shares every timestep.

    `inject(i, x)` may grow the batch before step i (the forward/backward triangle adds a freshly
    noised row at each level). Returns the final x_0.
    """
    x = x_T
    for index, t in enumerate(scheduler.timesteps[start_index:], start=start_index):
        if inject is not None:
            x = inject(index, x)
        t_batch = torch.full((x.shape[0],), int(t), device=x.device, dtype=torch.long)
        output = denoise(x, t_batch)
        result = scheduler.step(output, t, x, generator=gens if gens else None)
        on_step(index, Step(int(t), x, output, result.pred_original_sample, result.prev_sample, scheduler))
        x = result.prev_sample
    return x


def from_uint8(images) -> torch.Tensor:
    """(N, H, W, C) uint8 array -> (N, C, H, W) float in [-1, 1]: the inverse of `to_uint8`."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def to_uint8(images: torch.Tensor, value_range: tuple[float, float] = (-1.0, 1.0)) -> torch.Tensor:
    """(N, C, H, W) floats -> (N, H, W, C) uint8, the mapping of diffusers' pipelines for [-1, 1]."""
    low, high = value_range
    # Written as x / 2 + 0.5 for [-1, 1], the exact float operations of the pipelines' output step.
    scaled = (images.float() / (high - low) + (-low / (high - low))).clamp(0, 1)
    return (scaled * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu()
