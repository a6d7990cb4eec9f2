"""The precompute config: one TOML file naming the models and every experiment grid.

Validation happens on load and stops at the first problem with one message that names the file,
the key, the value and what is allowed. Checks that need the model (patch inside the image, steps
within the training schedule) run in `check_against_model` once the model is known.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from .errors import UsageError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
EXPERIMENTS = ("reverse", "step_counts", "forward_backward", "patch_noise", "mix_noise")
SCHEDULERS = ("ddpm", "ddim")


def _f(default: Any, *, low: float | None = None, high: float | None = None,
       choices: tuple[str, ...] | None = None, help: str = "") -> Any:
    meta = {"low": low, "high": high, "choices": choices, "help": help}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class ReverseConfig:
    scheduler: str = _f("ddpm", choices=SCHEDULERS)
    steps: int = _f(50, low=1, high=1000)
    seeds: list[int] = _f([0, 1, 2, 3], low=0, high=2**32 - 1)


@dataclass
class StepCountsConfig:
    scheduler: str = _f("ddim", choices=SCHEDULERS)
    steps: list[int] = _f([2, 5, 10, 50, 1000], low=1, high=1000)
    seeds: list[int] = _f([0, 1, 2, 3], low=0, high=2**32 - 1)


@dataclass
class ForwardBackwardConfig:
    scheduler: str = _f("ddim", choices=SCHEDULERS)
    steps: int = _f(50, low=1, high=1000)
    source: str = _f("generated", help="'generated' (a sample of the model) or an image file")
    source_seed: int = _f(0, low=0, high=2**32 - 1)
    noise_seed: int = _f(0, low=0, high=2**32 - 1)
    noise: str = _f("independent", choices=("independent", "source"),
                    help="forward noise: 'independent' (its own stream) or 'source' (the source's start noise)")
    start_levels: list[int] = _f([], low=0, high=999, help="indices into the sampling steps; [] = all")


@dataclass
class PatchNoiseConfig:
    scheduler: str = _f("ddim", choices=("ddim",))
    steps: int = _f(50, low=1, high=1000)
    seeds: list[int] = _f(list(range(8)), low=0, high=2**32 - 1)
    sizes: list[int] = _f([4, 8, 16], low=1, high=4096)
    positions: list[list[int]] = _f([[x, y] for y in (0, 8, 16) for x in (0, 8, 16)], low=0, high=4096)


@dataclass
class MixNoiseConfig:
    scheduler: str = _f("ddim", choices=("ddim",))
    steps: int = _f(50, low=1, high=1000)
    seeds: list[int] = _f(list(range(8)), low=0, high=2**32 - 1)
    scales: list[float] = _f([0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
                             low=0.0, high=1.0)


@dataclass
class RunConfig:
    device: str = _f("auto", help="auto, cpu, cuda, cuda:N")
    dtype: str = _f("auto", choices=("auto", "float32", "float16", "bfloat16"))
    max_batch: int = _f(64, low=1, high=65536, help="most images per UNet call")
    compile: bool = _f(False, help="torch.compile the UNet (worth it on a GPU for big grids)")


@dataclass
class Config:
    models: list[str] = _f(["fashion-32"])
    run: RunConfig = field(default_factory=RunConfig)
    reverse: ReverseConfig = field(default_factory=ReverseConfig)
    step_counts: StepCountsConfig = field(default_factory=StepCountsConfig)
    forward_backward: ForwardBackwardConfig = field(default_factory=ForwardBackwardConfig)
    patch_noise: PatchNoiseConfig = field(default_factory=PatchNoiseConfig)
    mix_noise: MixNoiseConfig = field(default_factory=MixNoiseConfig)
    experiments: list[str] = _f(list(EXPERIMENTS), choices=EXPERIMENTS)
    source: str = ""  # the file it came from, for messages

    def experiment(self, name: str) -> Any:
        return getattr(self, name)


_SECTIONS = {"run": RunConfig, "reverse": ReverseConfig, "step_counts": StepCountsConfig,
             "forward_backward": ForwardBackwardConfig, "patch_noise": PatchNoiseConfig,
             "mix_noise": MixNoiseConfig}


def _type_name(kind: Any) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string", list[int]: "a list of integers",
            list[float]: "a list of numbers", list[str]: "a list of strings",
            list[list[int]]: "a list of [x, y] integer pairs"}[kind]


def _check_scalar(value: Any, kind: Any) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))


def _show(value: Any) -> str:
    """A value as the author wrote it in TOML (true, "text", [1, 2]), not as Python prints it."""
    return json.dumps(value)


def _check_value(where: str, value: Any, kind: Any, meta: dict) -> Any:
    wrong = UsageError(f"{where} = {_show(value)}: must be {_type_name(kind)}")
    if kind is bool:
        if not isinstance(value, bool):
            raise wrong
        return value
    if kind in (int, float, str):
        if not _check_scalar(value, kind):
            raise wrong
        items = [value]
    elif kind == list[list[int]]:
        if not isinstance(value, list) or not all(
                isinstance(p, list) and len(p) == 2 and all(_check_scalar(c, int) for c in p) for p in value):
            raise wrong
        items = [c for p in value for c in p]
    else:
        inner = kind.__args__[0]
        if not isinstance(value, list) or not all(_check_scalar(v, inner) for v in value):
            raise wrong
        items = value
    low, high, choices = meta.get("low"), meta.get("high"), meta.get("choices")
    for item in items:
        if choices and item not in choices:
            raise UsageError(f"{where} = {_show(value)}: {_show(item)} is not allowed; allowed: {', '.join(choices)}")
        if low is not None and item < low or high is not None and item > high:
            raise UsageError(f"{where} = {_show(value)}: {_show(item)} is out of range; allowed: {low} to {high}")
    if isinstance(value, list) and kind != list[str] and len(value) == 0 and not where.endswith("start_levels"):
        raise UsageError(f"{where} = []: must list at least one value")
    if kind == list[float]:
        value = [float(v) for v in value]
    return float(value) if kind is float else value


def _build(cls: type, table: dict, prefix: str, source: str) -> Any:
    known = {f.name: f for f in fields(cls) if not (cls is Config and f.name == "source")}
    hints = get_type_hints(cls)
    values = {}
    for key, value in table.items():
        where = f"{source}: {prefix}{key}"
        if key not in known:
            raise UsageError(f"{where}: unknown key; allowed: {', '.join(sorted(known))}")
        spec = known[key]
        if key in _SECTIONS and cls is Config:
            if not isinstance(value, dict):
                raise UsageError(f"{where} must be a table ([{key}])")
            values[key] = _build(_SECTIONS[key], value, f"{key}.", source)
        else:
            values[key] = _check_value(where, value, hints[key], dict(spec.metadata))
    return cls(**values)


def _post_checks(config: Config) -> None:
    src = config.source
    for name in ("seeds",):
        for section in ("reverse", "step_counts", "patch_noise", "mix_noise"):
            seeds = getattr(getattr(config, section), name)
            if len(set(seeds)) != len(seeds):
                raise UsageError(f"{src}: {section}.seeds = {_show(seeds)}: seeds must be distinct")
    fb = config.forward_backward
    if fb.noise == "source" and fb.source != "generated":
        raise UsageError(f"{src}: forward_backward.noise = \"source\" reuses the start noise of the generated "
                         f"source image, but source = {_show(fb.source)}; allowed with an image file: \"independent\"")
    for level in fb.start_levels:
        if level >= fb.steps:
            raise UsageError(f"{src}: forward_backward.start_levels contains {level}: a start level is an "
                             f"index into the {fb.steps} sampling steps; allowed: 0 to {fb.steps - 1}")
    if len(set(config.experiments)) != len(config.experiments):
        raise UsageError(f"{src}: experiments = {_show(config.experiments)}: names must be distinct")


def load_config(name_or_path: str) -> Config:
    """Load a shipped config by name (`default`, `smoke`) or a TOML file by path."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = CONFIG_DIR / f"{name_or_path}.toml"
        if not path.is_file():
            shipped = sorted(p.stem for p in CONFIG_DIR.glob("*.toml"))
            raise UsageError(f"--config {name_or_path!r}: no such file and no shipped config of that name; "
                             f"shipped: {', '.join(shipped)}")
    if not path.is_file():
        raise UsageError(f"--config {name_or_path}: file not found")
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: not valid TOML ({error})") from None
    version = table.pop("version", 1)
    if version != 1:
        raise UsageError(f"{path}: version = {version!r}: this tool reads config version 1")
    config = _build(Config, table, "", str(path))
    config.source = str(path)
    _post_checks(config)
    return config


def check_against_model(config: Config, experiment: str, sample_size: int, train_steps: int) -> None:
    """Checks that need the model: steps within its schedule, patches inside its image."""
    section = config.experiment(experiment)
    src = config.source
    counts = section.steps if isinstance(section.steps, list) else [section.steps]
    for count in counts:
        if count > train_steps:
            raise UsageError(f"{src}: {experiment}.steps = {_show(section.steps)}: the model was trained with "
                             f"{train_steps} timesteps; allowed: 1 to {train_steps}")
    if experiment == "patch_noise":
        for size in section.sizes:
            for x, y in section.positions:
                if x + size > sample_size or y + size > sample_size:
                    raise UsageError(
                        f"{src}: patch_noise: a patch of size {size} at position [{x}, {y}] lies outside the "
                        f"{sample_size}x{sample_size} image; x + size and y + size must be at most {sample_size}")
    if experiment == "forward_backward" and section.source != "generated":
        source = Path(section.source)
        if not source.is_absolute():
            source = Path(src).parent / source
        if not source.is_file():
            raise UsageError(f"{src}: forward_backward.source = {section.source!r}: file not found; "
                             "allowed: 'generated' or the path of an image file")
