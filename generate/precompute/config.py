"""The precompute config: one TOML file naming the models and every experiment grid.

The sections come from the experiment registry (generate/experiments): each experiment declares its
section as a dataclass of `setting(...)` fields, and this module validates any of them the same way.
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

from .. import experiments as registry
from ..errors import UsageError
from ..shipped import DEFAULT_MODEL
from ..toolkit.contract import setting

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


@dataclass
class RunConfig:
    device: str = setting("auto", help="auto, cpu, cuda, cuda:N")
    dtype: str = setting("auto", choices=("auto", "float32", "float16", "bfloat16"))
    max_batch: int = setting(64, low=1, high=65536, help="most images per UNet call")
    compile: bool = setting(False, help="torch.compile the UNet (worth it on a GPU for big grids)")


@dataclass
class Config:
    """models, [run], the experiments to run, and one section per registered experiment."""

    models: list[str] = setting([DEFAULT_MODEL])
    run: RunConfig = field(default_factory=RunConfig)
    experiments: list[str] = field(default_factory=lambda: list(registry.names()))
    sections: dict[str, Any] = field(default_factory=dict)  # experiment name -> its config dataclass
    # experiment name -> the models it runs on instead of `models` (a section's own `models` key): an
    # experiment that needs a kind of model (guidance: a class-conditional one), or one too costly for
    # every model, runs on its own list
    section_models: dict[str, list[str]] = field(default_factory=dict)
    source: str = ""  # the file it came from, for messages

    def __post_init__(self) -> None:
        for experiment in registry.all_experiments():
            self.sections.setdefault(experiment.name, experiment.config())

    def experiment(self, name: str) -> Any:
        return self.sections[name]

    def models_for(self, name: str) -> list[str]:
        """The models experiment `name` runs on: its section's own `models`, else the top-level list."""
        return self.section_models.get(name, self.models)

    def all_models(self) -> list[str]:
        """Every model some experiment runs on: the top-level list first, then the sections' own, in
        order, each once."""
        return list(dict.fromkeys([*self.models, *(m for ms in self.section_models.values() for m in ms)]))

    def __getattr__(self, name: str) -> Any:  # config.reverse: the reverse section
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        raise AttributeError(name)


def _type_name(kind: Any) -> str:
    return {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a string",
        list[int]: "a list of integers",
        list[float]: "a list of numbers",
        list[str]: "a list of strings",
        list[list[int]]: "a list of [x, y] integer pairs",
        list[list[float]]: "a list of [x, y] pairs",
    }[kind]


def _check_scalar(value: Any, kind: Any) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind) and not (kind is int and isinstance(value, bool))


def _show(value: Any) -> str:
    """A value as the author wrote it in TOML (true, "text", [1, 2]), not as Python prints it."""
    return json.dumps(value)


def _check_lengths(where: str, value: Any, kind: Any, meta: dict) -> list:
    """Lengths in an image (setting(relative=True)): whole pixels as integers (4), or fractions of the
    image side as numbers with a decimal point (0.125), so one config fits every image size."""
    pairs = kind == list[list[float]]
    shape = "[x, y] pairs of " if pairs else ""
    wrong = UsageError(
        f"{where} = {_show(value)}: must be a list of {shape}pixel counts (integers) or "
        "fractions of the image side (numbers such as 0.25)"
    )
    if not isinstance(value, list) or not value:
        raise wrong if value != [] else UsageError(f"{where} = []: must list at least one value")
    if pairs and not all(isinstance(p, list) and len(p) == 2 for p in value):
        raise wrong
    items = [c for p in value for c in p] if pairs else value
    if not all(_check_scalar(c, float) for c in items):
        raise wrong
    low, high, smallest = meta.get("low"), meta.get("high"), 0.0 if pairs else None
    for item in items:
        if isinstance(item, float) and not (0.0 <= item <= 1.0 and (smallest is not None or item > 0.0)):
            raise UsageError(
                f"{where} = {_show(value)}: {_show(item)} is out of range; a fraction of the image "
                f"side must be {'0' if pairs else 'above 0'} to 1 (whole pixels are integers)"
            )
        if isinstance(item, int) and (low is not None and item < low or high is not None and item > high):
            raise UsageError(
                f"{where} = {_show(value)}: {_show(item)} is out of range; allowed: {low} to {high} "
                "pixels, or a fraction of the image side (0.25)"
            )
    return value


def _check_value(where: str, value: Any, kind: Any, meta: dict) -> Any:
    if meta.get("relative"):
        return _check_lengths(where, value, kind, meta)
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
            isinstance(p, list) and len(p) == 2 and all(_check_scalar(c, int) for c in p) for p in value
        ):
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
    if isinstance(value, list) and kind != list[str] and len(value) == 0 and not meta.get("allow_empty"):
        raise UsageError(f"{where} = []: must list at least one value")
    if kind == list[float]:
        value = [float(v) for v in value]
    return float(value) if kind is float else value


def _build_section(cls: type, table: dict, prefix: str, source: str) -> Any:
    known, hints, values = {f.name: f for f in fields(cls)}, get_type_hints(cls), {}
    for key, value in table.items():
        where = f"{source}: {prefix}{key}"
        if key not in known:
            extra = ["models"] if cls is not RunConfig else []
            raise UsageError(f"{where}: unknown key; allowed: {', '.join(sorted([*known, *extra]))}")
        values[key] = _check_value(where, value, hints[key], dict(known[key].metadata))
    return cls(**values)


GRIDS = ("default", "smoke")  # `grid`: what the sections a config leaves out hold


def _with_grid(table: dict, source: str) -> dict:
    """`grid = "smoke"`: every section the file does not give is the experiment's declared tiny grid
    (its `smoke`) instead of its defaults; the file's own sections still win, key by key."""
    grid = table.pop("grid", "default")
    if grid not in GRIDS:
        raise UsageError(f"{source}: grid = {_show(grid)}: allowed: {', '.join(GRIDS)}")
    if grid == "smoke":
        for experiment in registry.all_experiments():
            given = table.get(experiment.name, {})
            if isinstance(given, dict):
                table[experiment.name] = {**experiment.smoke, **given}
    return table


def _build(table: dict, source: str) -> Config:
    table = _with_grid(dict(table), source)
    sections = {e.name: e.config for e in registry.all_experiments()}
    top = {"models": fields(Config)[0], "experiments": None, "run": None}
    allowed = sorted([*top, *sections, "grid"])
    values: dict[str, Any] = {"sections": {}}
    for key, value in table.items():
        where = f"{source}: {key}"
        if key not in top and key not in sections:
            raise UsageError(f"{where}: unknown key; allowed: {', '.join(allowed)}")
        if key in sections or key == "run":
            if not isinstance(value, dict):
                raise UsageError(f"{where} must be a table ([{key}])")
            if key in sections and "models" in value:  # every section's own model list (Config.models_for)
                value = dict(value)
                values.setdefault("section_models", {})[key] = _check_value(
                    f"{where}.models", value.pop("models"), list[str], dict(top["models"].metadata)
                )
                if not values["section_models"][key]:
                    raise UsageError(f"{where}.models = []: must list at least one model (or leave the key out)")
            built = _build_section(sections.get(key, RunConfig), value, f"{key}.", source)
            if key == "run":
                values["run"] = built
            else:
                values["sections"][key] = built
        elif key == "experiments":
            values[key] = _check_value(where, value, list[str], {"choices": registry.names()})
        else:
            values[key] = _check_value(where, value, list[str], dict(top[key].metadata))
    return Config(**values)


def _post_checks(config: Config) -> None:
    src = config.source
    for name, section in config.sections.items():
        seeds = getattr(section, "seeds", None)
        if isinstance(seeds, list) and len(set(seeds)) != len(seeds):
            raise UsageError(f"{src}: {name}.seeds = {_show(seeds)}: seeds must be distinct")
        experiment = registry.get(name)
        if experiment.validate:
            experiment.validate(section, src)
    if len(set(config.experiments)) != len(config.experiments):
        raise UsageError(f"{src}: experiments = {_show(config.experiments)}: names must be distinct")


def load_config(name_or_path: str) -> Config:
    """Load a shipped config by name (`default`, `smoke`) or a TOML file by path."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = CONFIG_DIR / f"{name_or_path}.toml"
        if not path.is_file():
            shipped = sorted(p.stem for p in CONFIG_DIR.glob("*.toml"))
            raise UsageError(
                f"--config {name_or_path!r}: no such file and no shipped config of that name; "
                f"shipped: {', '.join(shipped)}"
            )
    if not path.is_file():
        raise UsageError(f"--config {name_or_path}: file not found")
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: not valid TOML ({error})") from None
    version = table.pop("version", 1)
    if version != 1:
        raise UsageError(f"{path}: version = {version!r}: this tool reads config version 1")
    config = _build(table, str(path))
    config.source = str(path)
    _post_checks(config)
    return config


def config_argument(config: Config) -> str:
    """What `--config` takes to load this config again: a shipped config's name, else its file ("" for a
    config not read from a file). run.json records it, so the site can show the command behind a figure."""
    if not config.source:
        return ""
    path = Path(config.source)
    return path.stem if path.parent.resolve() == CONFIG_DIR and path.suffix == ".toml" else config.source


def section_for_model(config: Config, experiment: str, sample_size: int) -> Any:
    """The experiment's section with relative lengths resolved to pixels for this image size (what
    the run key, the plan and the manifest see: a relative config and its pixel form at the same size
    make the same run)."""
    section, resolve = config.experiment(experiment), registry.get(experiment).resolve
    return resolve(section, sample_size) if resolve else section


STEP_COUNT_FIELDS = ("steps", "leading")  # sampling step counts, each at most the model's training timesteps


def check_against_model(
    config: Config, experiment: str, sample_size: int, train_steps: int, section: Any = None
) -> None:
    """Checks that need the model: steps within its schedule, then the experiment's own (patches inside its image)."""
    section = section if section is not None else section_for_model(config, experiment, sample_size)
    src = config.source
    for key in STEP_COUNT_FIELDS:
        steps = getattr(section, key, [])
        for count in steps if isinstance(steps, list) else [steps]:
            if count > train_steps:
                raise UsageError(
                    f"{src}: {experiment}.{key} = {_show(steps)}: the model was trained with "
                    f"{train_steps} timesteps; allowed: 1 to {train_steps}"
                )
    check = registry.get(experiment).check_model
    if check:
        check(section, src, sample_size)


def to_toml(config: Config) -> str:
    """The whole config as a TOML file, every key spelt out with its help as a comment: what
    `generate config NAME` prints for an author to copy and edit (it loads back to the same config)."""

    def section(obj: Any) -> list[str]:
        lines = []
        for spec in fields(obj):
            help_text = spec.metadata.get("help", "")
            line = f"{spec.name} = {_show(getattr(obj, spec.name))}"
            lines.append(f"{line}  # {help_text}" if help_text else line)
        return lines

    out = [
        "# Noise to Image precompute config, every key spelt out (`python -m generate config` printed it).",
        "version = 1",
        f"models = {_show(config.models)}",
        f"experiments = {_show(config.experiments)}",
        "",
        "[run]",
        *section(config.run),
    ]
    for experiment in registry.all_experiments():
        own = config.section_models.get(experiment.name)
        models = [f"models = {_show(own)}  # this experiment's own models, not the top-level list"] if own else []
        out += ["", f"[{experiment.name}]  # {experiment.summary}", *models, *section(config.sections[experiment.name])]
    return "\n".join(out) + "\n"


def describe_section(cls: type) -> list[str]:
    """One line per field of a config section (key, default, allowed, help): for --help and docs."""
    lines, hints = [], get_type_hints(cls)
    for spec in fields(cls):
        meta, default = spec.metadata, getattr(cls(), spec.name)
        allowed = (
            ", ".join(meta["choices"])
            if meta.get("choices")
            else (f"{meta['low']} to {meta['high']}" if meta.get("low") is not None else _type_name(hints[spec.name]))
        )
        if meta.get("relative"):
            allowed = f"fractions of the image side, or {allowed} px"
        lines.append(f"{spec.name} = {_show(default)}  ({allowed}){'; ' + meta['help'] if meta.get('help') else ''}")
    return lines
