"""Train a small UNet2DModel with a DDPMScheduler: the models the project ships.

Notation (Ho et al. 2020, "DDPM"; Salimans & Ho 2022 for v):
    x0      a training image scaled to [-1, 1]
    eps     standard Gaussian noise, the same shape as x0
    t       a training timestep, uniform in {0, ..., T-1}
    x_t     sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps           (DDPM eq. 4)
    target  eps (epsilon), x0 (sample) or v = sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) x0

Algorithm 1 of DDPM, one step per batch: draw x0, t, eps; minimise ||target - model(x_t, t)||^2.

Class-conditional (class_conditional=True; Ho & Salimans 2022, "Classifier-free diffusion guidance"):
    c       the image's class label, replaced by the extra label K ("no class") with probability
            class_dropout, so one network learns both eps(x_t, c) and eps(x_t, no class)
    model   a UNet2DModel with num_class_embeds = K + 1 (K classes plus "no class")
Resuming is exact: the checkpoint holds the weights, the EMA weights, the optimiser state, the step
and the state of the one random generator that draws batches, timesteps, flips and noise.
Device (`device`: auto, cpu, cuda, cuda:N): the model, EMA model and each batch live there, but every
random draw stays on that CPU generator, so the data order, noise and timesteps do not depend on the
device and a CPU run is the same bit for bit whatever GPUs the machine has. Checkpoints load onto the
CPU first, so a run started on a GPU resumes on a CPU and the other way round.
"""

from __future__ import annotations

import io
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from diffusers import DDPMScheduler, UNet2DModel

from ..atomic import write_bytes_atomic, write_json_atomic
from ..core.loading import resolve_device
from ..core.sampling import from_uint8
from ..errors import UsageError
from .data import load_prepared


@dataclass
class TrainConfig:
    steps: int = 6000
    batch_size: int = 32
    learning_rate: float = 4e-4
    warmup_steps: int = 200
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    seed: int = 0
    prediction_type: str = "v_prediction"
    beta_schedule: str = "squaredcos_cap_v2"
    num_train_timesteps: int = 1000
    block_out_channels: tuple[int, ...] = (32, 64, 128)
    layers_per_block: int = 1
    attention_levels: tuple[int, ...] = (2,)  # which resolutions get self-attention (0 = full size)
    norm_num_groups: int = 8
    hflip: bool = True
    checkpoint_every: int = 250
    threads: int = 0  # 0: torch's default
    device: str = "auto"  # auto (CUDA when present), cpu, cuda, cuda:N; like threads, free to change on resume
    class_conditional: bool = False  # a class embedding (K classes + "no class") for classifier-free guidance
    class_dropout: float = 0.1  # share of training images shown as "no class" (conditional models only)
    extra: dict = field(default_factory=dict)


def build_unet(config: TrainConfig, sample_size: int, channels: int, classes: int = 0) -> UNet2DModel:
    """The UNet; with `classes` > 0, a class embedding of classes + 1 labels (the last: "no class")."""
    levels = range(len(config.block_out_channels))
    return UNet2DModel(
        num_class_embeds=classes + 1 if classes else None,
        sample_size=sample_size,
        in_channels=channels,
        out_channels=channels,
        block_out_channels=tuple(config.block_out_channels),
        layers_per_block=config.layers_per_block,
        down_block_types=tuple("AttnDownBlock2D" if i in config.attention_levels else "DownBlock2D" for i in levels),
        up_block_types=tuple(
            "AttnUpBlock2D" if i in config.attention_levels else "UpBlock2D" for i in reversed(levels)
        ),
        norm_num_groups=config.norm_num_groups,
        attention_head_dim=min(32, min(config.block_out_channels)),  # heads = channels // head_dim >= 1
    )


def build_scheduler(config: TrainConfig) -> DDPMScheduler:
    return DDPMScheduler(
        num_train_timesteps=config.num_train_timesteps,
        beta_schedule=config.beta_schedule,
        prediction_type=config.prediction_type,
        clip_sample=True,
    )


def training_target(scheduler: DDPMScheduler, x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    kind = scheduler.config.prediction_type
    if kind == "epsilon":
        return eps
    if kind == "sample":
        return x0
    return scheduler.get_velocity(x0, eps, t)


def _learning_rate(config: TrainConfig, step: int) -> float:
    return config.learning_rate * min(1.0, (step + 1) / max(1, config.warmup_steps))


@torch.no_grad()
def _update_ema(ema: UNet2DModel, model: UNet2DModel, step: int, decay: float) -> None:
    # Warm-up of the decay (as in diffusers' EMAModel) so early EMA weights are not the random init.
    decay = min(decay, (1 + step) / (10 + step))
    for ema_param, param in zip(ema.parameters(), model.parameters()):
        ema_param.lerp_(param, 1.0 - decay)


def training_device(requested: str) -> torch.device:
    """The device `requested` names, checked before any data is read; the precompute's parser and wording."""
    allowed = "allowed: auto, cpu, cuda, cuda:N"
    device, _ = resolve_device(requested, "float32")
    if device.type not in ("cpu", "cuda"):  # torch knows more kinds (mps, xla, ...); this loop runs on these two
        raise UsageError(f"--device {requested!r}: {allowed}")
    if device.type == "cpu":
        return device
    count = torch.cuda.device_count()
    if (device.index or 0) >= count:
        raise UsageError(f"--device {requested}: this machine has {count} CUDA device(s); {allowed} with N < {count}")
    return torch.device("cuda", torch.cuda.current_device() if device.index is None else device.index)


def _device_name(device: torch.device) -> str:
    """As recorded in training.json: the GPU's model too, since it decides the time per step."""
    return f"{device} ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else str(device)


def _save_checkpoint(path: Path, state: dict) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def train(
    data_dir: Path, out_dir: Path, checkpoint_dir: Path, config: TrainConfig, resume: bool = False, log=print
) -> dict:
    device = training_device(config.device)
    images, source = load_prepared(data_dir, "train")
    classes = 0
    if config.class_conditional:
        labels = torch.from_numpy(np.load(data_dir / "train_labels.npy")).long()
        classes = len(source.get("class_names") or []) or int(labels.max()) + 1
        if len(labels) != len(images) or not 0 <= config.class_dropout < 1:
            raise UsageError(
                f"{data_dir}: a class-conditional model needs one label per training image "
                f"(train_labels.npy) and class_dropout in [0, 1); got {len(labels)} labels, "
                f"{len(images)} images, class_dropout {config.class_dropout}"
            )
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)  # only the initial weights depend on the global generator
    n, size, _, channels = images.shape
    data = from_uint8(images)

    model = build_unet(config, size, channels, classes)  # initialised on the CPU: the same weights on any device
    ema = build_unet(config, size, channels, classes)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    model.to(device)
    ema.to(device)
    scheduler = build_scheduler(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.0)
    generator = torch.Generator().manual_seed(config.seed)
    losses: list[float] = []
    step = 0
    checkpoint = checkpoint_dir / "checkpoint.pt"
    settings = {
        "train": asdict(config),
        "data": source,
        "data_dir": str(data_dir),
        "images": n,
        "sample_size": size,
        "channels": channels,
        **({"classes": classes} if classes else {}),
    }
    devices: list[str] = []  # every device the run has trained on, in order
    if resume and checkpoint.is_file():
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)  # wherever it was saved from
        saved = asdict(TrainConfig()) | state["settings"]["train"]  # settings added since keep their defaults
        free = {"steps": 0, "threads": 0, "device": ""}  # how long and where it runs: not the model's settings
        if saved | free != settings["train"] | free:
            raise UsageError(
                f"{checkpoint}: was made with other training settings; "
                "resume with the same settings or choose another --checkpoints folder"
            )
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        losses, step = list(state["losses"]), int(state["step"])
        settings["seconds"] = float(state.get("seconds", 0.0))
        devices = list(state["settings"].get("devices", []))
        log(f"resumed from {checkpoint} at step {step}")
    settings.setdefault("seconds", 0.0)
    settings["devices"] = devices if devices[-1:] == [_device_name(device)] else [*devices, _device_name(device)]
    alphas_cumprod = scheduler.alphas_cumprod

    def save(at_step: int) -> None:
        _save_checkpoint(
            checkpoint,
            {
                "model": model.state_dict(),
                "ema": ema.state_dict(),
                "optimizer": optimizer.state_dict(),
                "generator": generator.get_state(),
                "losses": losses,
                "step": at_step,
                "settings": settings,
                "seconds": settings["seconds"],
            },
        )

    window = time.time()
    model.train()
    while step < config.steps:
        # Algorithm 1: x0 ~ q(x0), t ~ Uniform, eps ~ N(0, I)
        # Drawn on the CPU generator, then moved: the same draws, so the same run, on every device.
        index = torch.randint(0, n, (config.batch_size,), generator=generator)
        x0 = data[index]
        if config.hflip:
            flip = torch.rand(config.batch_size, generator=generator) < 0.5
            x0 = torch.where(flip[:, None, None, None], x0.flip(-1), x0)
        t = torch.randint(0, config.num_train_timesteps, (config.batch_size,), generator=generator)
        eps = torch.randn(x0.shape, generator=generator)
        a = alphas_cumprod[t].view(-1, 1, 1, 1).to(device)
        x0, eps, t = x0.to(device), eps.to(device), t.to(device)
        x_t = a.sqrt() * x0 + (1 - a).sqrt() * eps  # DDPM eq. 4
        if classes:  # label dropout: the same network learns the unconditional prediction (label `classes`)
            c = labels[index]
            c = torch.where(torch.rand(config.batch_size, generator=generator) < config.class_dropout, classes, c)
            predicted = model(x_t, t, class_labels=c.to(device)).sample
        else:
            predicted = model(x_t, t).sample
        loss = torch.nn.functional.mse_loss(predicted, training_target(scheduler, x0, eps, t))
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(config, step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        _update_ema(ema, model, step, config.ema_decay)
        losses.append(float(loss.detach()))
        step += 1
        if step % 25 == 0 or step == config.steps:
            now = time.time()
            settings["seconds"] += now - window
            window = now
            per_step = settings["seconds"] / step
            log(
                f"step {step}/{config.steps} loss {np.mean(losses[-25:]):.4f} "
                f"{per_step:.2f} s/step ETA {per_step * (config.steps - step) / 60:.1f} min"
            )
        if step % config.checkpoint_every == 0 or step == config.steps:
            save(step)
    return export(ema.to("cpu"), scheduler, settings, losses, out_dir)


def export(ema: UNet2DModel, scheduler: DDPMScheduler, settings: dict, losses: list[float], out_dir: Path) -> dict:
    """Write the EMA weights (safetensors) and scheduler config in the flat google/ddpm-* layout."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ema.save_pretrained(out_dir, safe_serialization=True)
    scheduler.save_pretrained(out_dir)
    settings = dict(
        settings,
        steps_done=len(losses),
        parameters=sum(p.numel() for p in ema.parameters()),
        torch=torch.__version__,
        python=sys.version.split()[0],
    )
    write_json_atomic(out_dir / "training.json", settings)
    # Loss curve: mean per 50 steps keeps the file small and the curve readable.
    chunk = 50
    rows = [
        f"{min((i + 1) * chunk, len(losses))},{np.mean(losses[i * chunk : (i + 1) * chunk]):.5f}"
        for i in range(math.ceil(len(losses) / chunk))
    ]
    write_bytes_atomic(out_dir / "loss.csv", ("step,loss\n" + "\n".join(rows) + "\n").encode())
    return settings


def load_train_config(overrides: dict) -> TrainConfig:
    known = TrainConfig.__dataclass_fields__
    for key in overrides:
        if key not in known:
            raise UsageError(f"training setting {key!r} is unknown; allowed: {sorted(known)}")
    return TrainConfig(**overrides)


def config_from_json(text: str) -> TrainConfig:
    return load_train_config(json.loads(text))
