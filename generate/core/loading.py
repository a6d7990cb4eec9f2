"""Load a UNet2DModel and its scheduler from a shipped name, a local folder or a hub id.

Folder layouts accepted (both as published on the hub):
    flat       config.json, diffusion_pytorch_model.safetensors, scheduler_config.json  (google/ddpm-*)
    pipeline   unet/{config.json, diffusion_pytorch_model.safetensors}, scheduler/scheduler_config.json
Weights are read with safetensors. Pickled weights (.bin, .ckpt) can run arbitrary code when loaded,
so they are refused unless the author passes --allow-pickle.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel
from diffusers.utils import logging as diffusers_logging

from ..errors import UsageError
from ..shipped import SHIPPED_DIR, shipped_models
from ..spacing import SPACING, sampling_config

diffusers_logging.set_verbosity_error()  # its load-time advice (install accelerate) is noise here

WEIGHTS = "diffusion_pytorch_model.safetensors"
PICKLED = ("diffusion_pytorch_model.bin", "diffusion_pytorch_model.ckpt")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


# diffusers loads weights lazily (`low_cpu_mem_usage`) only where accelerate is installed (the test
# and distributed extras install it): one path everywhere, so a bad checkpoint gets the same message
# ("size mismatch for conv_in.weight ...") with or without it.
ONE_LOADING_PATH = {"low_cpu_mem_usage": False}


@dataclass
class LoadedModel:
    unet: UNet2DModel
    scheduler_config: dict
    identity: dict  # what goes into the manifest and the run key
    device: torch.device
    dtype: torch.dtype
    slug: str  # folder-safe name for the runs folder
    label: str = ""
    # (timestep dtype, with labels) -> (the UNet traced, its frozen trace or False: stay eager), traced.py
    traced: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def sample_size(self) -> int:
        size = self.unet.config.sample_size
        return int(size[0] if isinstance(size, (list, tuple)) else size)

    @property
    def channels(self) -> int:
        return int(self.unet.config.in_channels)

    def scheduler(self, kind: str, spacing: str = SPACING) -> DDPMScheduler | DDIMScheduler:
        """A fresh scheduler of `kind` from the model's own config (as DDIMPipeline does), with its
        timesteps spaced by `spacing` (see generate/spacing.py; "leading" is diffusers' default) and
        no clipping of the x0 estimate."""
        cls = DDPMScheduler if kind == "ddpm" else DDIMScheduler
        return cls.from_config(dict(sampling_config(self.scheduler_config), timestep_spacing=spacing))


def resolve_device(device: str, dtype: str) -> tuple[torch.device, torch.dtype]:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise UsageError(f"--device {device!r}: allowed: auto, cpu, cuda, cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {device}: CUDA is not available on this machine; use cpu or auto")
    if dtype == "auto":
        dtype = "float16" if dev.type == "cuda" else "float32"
    if dev.type == "cpu" and dtype == "float16":
        raise UsageError("dtype float16 is not supported on the CPU; use float32 or bfloat16")
    return dev, getattr(torch, dtype)


def _layout(folder: Path) -> tuple[Path, Path]:
    """Return (unet folder, scheduler config file) for either layout, or explain what is missing."""
    if (folder / "unet" / "config.json").is_file():
        unet_dir, scheduler_file = folder / "unet", folder / "scheduler" / "scheduler_config.json"
    elif (folder / "config.json").is_file():
        unet_dir, scheduler_file = folder, folder / "scheduler_config.json"
    else:
        raise UsageError(
            f"{folder}: not a model folder; expected config.json (flat layout) or unet/config.json (pipeline layout)"
        )
    if not (unet_dir / WEIGHTS).is_file():
        pickled = [name for name in PICKLED if (unet_dir / name).is_file()]
        if pickled:
            raise UsageError(
                f"{unet_dir / pickled[0]}: pickled weights can run arbitrary code when loaded; "
                f"convert them to {WEIGHTS} or pass --allow-pickle if you trust the file"
            )
        raise UsageError(f"{unet_dir}: has config.json but no weights; expected {WEIGHTS}")
    if not scheduler_file.is_file():
        raise UsageError(
            f"{scheduler_file}: scheduler config not found; the model folder needs one "
            "(save it with scheduler.save_pretrained)"
        )
    return unet_dir, scheduler_file


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise UsageError(f"{path}: must hold a JSON object")
    return value


def weights_hash(unet: UNet2DModel) -> str:
    """sha256 over the parameter names, shapes and float32 bytes: the model's content identity."""
    digest = hashlib.sha256()
    for name, tensor in sorted(unet.state_dict().items()):
        digest.update(f"{name}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.detach().to(torch.float32).cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _check_model(unet: UNet2DModel, scheduler_config: dict, where: str) -> None:
    if unet.config.in_channels not in (1, 3) or unet.config.out_channels != unet.config.in_channels:
        raise UsageError(
            f"{where}: in_channels={unet.config.in_channels}, out_channels="
            f"{unet.config.out_channels}; allowed: 1 or 3 channels, in == out"
        )
    kind = scheduler_config.get("prediction_type", "epsilon")
    if kind not in ("epsilon", "v_prediction", "sample"):
        raise UsageError(f"{where}: scheduler prediction_type {kind!r}; allowed: epsilon, v_prediction, sample")


def _load_folder(folder: Path, allow_pickle: bool) -> tuple[UNet2DModel, dict]:
    try:
        unet_dir, scheduler_file = _layout(folder)
    except UsageError:
        if not allow_pickle:
            raise
        unet_dir = folder / "unet" if (folder / "unet").is_dir() else folder
        scheduler_file = (
            folder / "scheduler" / "scheduler_config.json"
            if (folder / "scheduler").is_dir()
            else folder / "scheduler_config.json"
        )
    scheduler_config = _read_json(scheduler_file)
    _read_json(unet_dir / "config.json")
    try:
        unet = UNet2DModel.from_pretrained(unet_dir, use_safetensors=not allow_pickle, **ONE_LOADING_PATH)
    except Exception as error:  # diffusers raises several types for mismatched or corrupt weights
        lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [type(error).__name__]
        first = next((line for line in lines if "size mismatch" in line or "issing key" in line), lines[0])[:300]
        raise UsageError(f"{unet_dir}: weights do not match config.json or are corrupt ({first})") from None
    return unet, scheduler_config


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP check, so an offline machine gets a clear message instead of minutes of retries."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _from_hub(hub_id: str, revision: str | None, allow_pickle: bool, local_only: bool) -> tuple[UNet2DModel, dict]:
    """The real `from_pretrained` path: the flat layout first (google/ddpm-*), then the pipeline one."""
    errors = []
    for subfolder, scheduler_sub in ((None, None), ("unet", "scheduler")):
        try:
            with warnings.catch_warnings():  # diffusers passes arguments huggingface_hub deprecated
                warnings.simplefilter("ignore")
                unet = UNet2DModel.from_pretrained(
                    hub_id,
                    subfolder=subfolder,
                    revision=revision,
                    use_safetensors=not allow_pickle,
                    local_files_only=local_only,
                    **ONE_LOADING_PATH,
                )
                scheduler_config = dict(
                    DDPMScheduler.load_config(
                        hub_id, subfolder=scheduler_sub, revision=revision, local_files_only=local_only
                    )
                )
            return unet, scheduler_config
        except Exception as error:  # missing file or layout mismatch: try the next layout
            errors.append(str(error).strip().splitlines()[0][:200] if str(error).strip() else repr(error))
    raise LookupError("; ".join(errors))


def _hub_commit(hub_id: str, revision: str | None) -> str | None:
    """The snapshot commit that was loaded (the cache path holds it), so a run names exact weights."""
    from huggingface_hub import try_to_load_from_cache

    for name in ("config.json", "unet/config.json"):
        path = try_to_load_from_cache(hub_id, name, revision=revision)
        if isinstance(path, str):
            return Path(path).parts[-2 if name == "config.json" else -3]
    return None


def _load_hub(hub_id: str, revision: str | None, allow_pickle: bool) -> tuple[UNet2DModel, dict]:
    try:  # the local Hugging Face cache first: no network needed for a model fetched before
        return _from_hub(hub_id, revision, allow_pickle, local_only=True)
    except LookupError:
        pass
    if not _hub_reachable():
        raise UsageError(
            f"--model {hub_id}: not in the local Hugging Face cache and the hub is unreachable "
            f"(no network?). Shipped models: {', '.join(shipped_models())}; or pass a local folder"
        )
    try:
        return _from_hub(hub_id, revision, allow_pickle, local_only=False)
    except LookupError as error:
        raise UsageError(
            f"--model {hub_id}: could not load it from the hub ({error}). If the repo only has "
            ".bin weights, --allow-pickle loads them (unpickling runs code from the file)"
        ) from None


def check_spec(spec: str, where: str | None = None) -> None:
    """The error load_model would give for a spec that names no model at all (no shipped name, no
    folder, no hub id), without loading anything: several processes check it before they form their
    group, so none is left waiting on a peer that has already stopped."""
    where = where or f"--model {spec}"
    path = Path(spec).expanduser()
    if spec in shipped_models() or path.is_dir():
        return
    if path.exists():
        raise UsageError(f"{where}: is a file; a model is a folder (flat or pipeline layout)")
    if not (HUB_ID.match(spec) and not spec.startswith((".", "/"))):
        raise UsageError(
            f"{where}: not a shipped model ({', '.join(shipped_models()) or 'none'}), "
            "not an existing folder, and not a hub id of the form owner/name"
        )


def load_model(
    spec: str,
    device: str = "auto",
    dtype: str = "auto",
    revision: str | None = None,
    allow_pickle: bool = False,
    where: str | None = None,
) -> LoadedModel:
    """`where` names the origin of `spec` in messages (default: the --model option)."""
    where = where or f"--model {spec}"
    dev, torch_dtype = resolve_device(device, dtype)
    shipped = SHIPPED_DIR / spec
    if spec in shipped_models():
        unet, scheduler_config = _load_folder(shipped, allow_pickle=False)
        identity = {"id": spec, "source": "shipped"}
        slug = spec
    elif Path(spec).expanduser().is_dir():
        folder = Path(spec).expanduser().resolve()
        unet, scheduler_config = _load_folder(folder, allow_pickle)
        identity = {"id": folder.name, "source": "local", "path": str(folder)}
        slug = None
    else:
        check_spec(spec, where)  # a file, or no model at all: its error
        unet, scheduler_config = _load_hub(spec, revision, allow_pickle)
        identity = {"id": spec, "source": "hub", "revision": revision or "main", "commit": _hub_commit(spec, revision)}
        slug = None
    _check_model(unet, scheduler_config, identity.get("path", spec))
    identity["weights_sha256"] = weights_hash(unet)
    if slug is None:
        slug = (
            re.sub(r"[^A-Za-z0-9._-]+", "-", identity["id"].replace("/", "--")) + "-" + identity["weights_sha256"][:8]
        )
    scheduler_config = {k: v for k, v in scheduler_config.items() if not k.startswith("_")}
    # channels_last on every device: measured on this project's 2-core CPU, fashion-32 runs 24 % faster
    # at batch 1 and 3-7 % at batch 4-64 (oneDNN's NHWC convolutions); on GPUs it feeds tensor cores.
    unet.to(device=dev, dtype=torch_dtype, memory_format=torch.channels_last).eval()
    identity["config"] = {k: v for k, v in dict(unet.config).items() if not k.startswith("_")}
    return LoadedModel(
        unet=unet,
        scheduler_config=scheduler_config,
        identity=identity,
        device=dev,
        dtype=torch_dtype,
        slug=slug,
        label=_label(spec, identity),
    )


def _label(spec: str, identity: dict) -> str:
    card = SHIPPED_DIR / spec / "training.json"
    if identity["source"] == "shipped" and card.is_file():
        return f"{spec} (shipped, trained on {json.loads(card.read_text())['data']['name']})"
    return identity["id"]
