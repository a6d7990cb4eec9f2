"""What an experiment declares, in one object, for every stage that handles it (no torch here).

    Experiment
      name       config section, `--only` choice, manifest "experiment", figure kind (data-kind)
      config     a dataclass whose fields are `setting(...)`s: types, defaults, ranges, help
      panels     the frame schema: every kind of frame, its coordinates and its file name
      plan       the precompute side, "module:function" (imported only by the precompute: it needs torch)
      figure     the site side: a validated run -> the JSON-ready data its figure script reads
      page       where it is shown: page file, nav title, template, figure script (pages may be shared)
      smoke      its tiny grid (config keys), for `grid = "smoke"` configs: tests and a quick look
      state      the keys of its figure's state (getState) and their kinds: what a shared link may
                 carry, what the text's steps may set, what a download's axes pick by
      downloads  what a reader may download besides the frame on screen: animations and tables, one
                 per state of the figure (generate/site/downloads.py writes them at build time)

The precompute writes a frame under `panel.file_of(**coords)` with `panel.coords_of(**coords)` as its
manifest coords; the site and the tests find it again with the same two calls. So the names and the
coordinates of the frames are written once, here, and not in every stage that touches them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


def setting(
    default: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[str, ...] | None = None,
    help: str = "",
    allow_empty: bool = False,
    relative: bool = False,
) -> Any:
    """A config field: its default, allowed range or choices, and the help the CLI and errors show.

    relative=True: a length in the image (list[float] or list[list[float]]), given as whole pixels
    (integers, checked against low/high) or as fractions of the image side (0.25); the experiment's
    `resolve` turns it into pixels once the model's image size is known."""
    meta = {
        "low": low,
        "high": high,
        "choices": choices,
        "help": help,
        "allow_empty": allow_empty,
        "relative": relative,
    }
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


def resolve_length(value: int | float, side: int) -> int:
    """A length as pixels: integers are pixels already; a fraction f of the side is f * side rounded,
    halves up (0.125 of 28 px is 3.5, so 4 px; Python's round() would send 4.5 to 4, not 5)."""
    return value if isinstance(value, int) else int(value * side + 0.5)


@dataclass(frozen=True)
class Panel:
    """One kind of frame of an experiment.

    `file` is a str.format pattern over `coords` (".<suffix>" is added under frames/). `tagged`: the
    manifest coords also carry panel=<name>; an experiment whose frames of one kind are told apart by
    their coordinates alone (the forward/backward trajectory: level, step) leaves it off. `suffix`:
    "png" for images (emitted as uint8 arrays); any other suffix is a file emitted as bytes (the live
    mode's ONNX graph), hashed and listed in the manifest like a frame. `heat_scale`: the frame is a
    viridis heatmap of the channel mean of |a - b| (images in [-1, 1]), bright at this value; one 8-bit
    level of an image then moves the colour index by up to 2 / heat_scale (`generate.core.measure.heatmap`).
    """

    name: str
    coords: tuple[str, ...]
    file: str
    what: str
    tagged: bool = True
    suffix: str = "png"
    heat_scale: float | None = None

    def coords_of(self, **values: Any) -> dict:
        if set(values) != set(self.coords):
            raise KeyError(f"panel {self.name!r} has coords {', '.join(self.coords)}; got {', '.join(sorted(values))}")
        return dict(values, panel=self.name) if self.tagged else dict(values)

    def file_of(self, **values: Any) -> str:
        return self.file.format(**values)

    def path_of(self, **values: Any) -> str:
        """The frame's path inside its run folder, as the manifest lists it."""
        return f"frames/{self.file_of(**values)}.{self.suffix}"


@dataclass(frozen=True)
class Page:
    """A lesson page. Experiments shown on one page declare the same Page (none do today: patch and mix
    noise have a page each)."""

    file: str  # e.g. "reverse.md": the page's URL is its stem
    title: str  # in the nav and the overview's list of lessons
    blurb: str  # one sentence for the overview's list (HTML allowed: it is ours)
    template: Path  # Jinja template rendered with the figure data and facts
    script: Path  # the figure script: an ES module exporting the figure as <experiment name>
    context: Callable[[dict, dict], dict] | None = None  # (figures, facts) -> extra template values


@dataclass(frozen=True)
class Animation:
    """One animated download (GIF and MP4): per animation frame, the manifest frames shown side by side."""

    name: str  # the state part of the file name, e.g. "seed0_x_t"
    frames: list[list[str]]  # [[file, file, ...] per animation frame]; files as the manifest names them
    fps: float = 10.0


@dataclass(frozen=True)
class Table:
    """One CSV download: the figure's numbers, read from the manifest."""

    name: str
    header: list[str]
    rows: list[list]


# The kinds of a figure's state key: how a link, a text step or a download reads its value.
INDEX = "index"  # a picker's position: a whole number from 0 (seed, patch position, step budget)
FRACTION = "fraction"  # a slider's position as a fraction 0..1 of its range (whatever its length per model)
VALUE = "value"  # a quantity in the figure's own units, matched to the nearest it has (schedules' level t)
TOGGLE = "toggle"  # a switch the text's steps may set (true/false); a motion, not a view: links leave it out
STATE_KINDS = (INDEX, FRACTION, VALUE, TOGGLE)


@dataclass(frozen=True)
class StateKey:
    """One key of a figure's state, as its script's getState reports it and setState takes it."""

    key: str
    kind: str  # INDEX, FRACTION or VALUE

    def __post_init__(self) -> None:
        if self.kind not in STATE_KINDS:
            raise ValueError(
                f"state key {self.key!r}: kind {self.kind!r} is unknown; allowed: {', '.join(STATE_KINDS)}"
            )


@dataclass(frozen=True)
class Axis:
    """A key of the figure's state that picks one item of an offer, over `count` positions: an index
    (a picker) or a slider fraction, as the experiment's `state` declares the key."""

    key: str
    count: int


@dataclass(frozen=True)
class Offer:
    """Downloads of one kind, one item per combination of the axes (row-major, first axis slowest):
    the figure's menu offers the item of the state on show."""

    what: str  # the menu's words, e.g. "this seed's trajectory xₜ"
    items: list  # Animation or Table items, all of one kind
    axes: tuple[Axis, ...] = ()


@dataclass(frozen=True)
class Experiment:
    name: str
    summary: str
    config: type
    panels: tuple[Panel, ...]
    plan: str | Callable  # "module:function", called as plan(section, model, max_batch, config_source)
    figure: Callable  # (run, sheets) -> dict
    page: Page | None  # None: no lesson of its own (live: the other figures use its run)
    revision: int = 0  # raised when the code makes other frames from the same config (enters the run key)
    validate: Callable[[Any, str], None] | None = None  # (section, config file) -> None: config-only checks
    check_model: Callable[[Any, str, int], None] | None = None  # (section, config file, image size): needs the model
    # model -> why it cannot run this experiment (None: it can): a model that lacks what the experiment
    # needs (guidance: a class embedding) is skipped under `--model`, an error where a config names it
    cannot_run: Callable[[Any], str | None] | None = None
    resolve: Callable[[Any, int], Any] | None = (
        None  # (section, image size) -> the section in pixels (relative lengths)
    )
    facts: Callable[[Any, dict], dict] | None = None  # (run, this model's runs by experiment) -> the page's facts
    downloads: Callable[[Any], list[Offer]] | None = None  # run -> its offers; None: one CSV of the frames' numbers
    state: tuple[StateKey, ...] = ()  # its figure's state keys (links, text steps, download axes read them)
    smoke: dict = field(default_factory=dict)  # its tiny grid (seconds on a CPU): the `grid = "smoke"` section

    def state_kinds(self) -> dict[str, str]:
        """{key: kind} of the declared state, in declaration order: shipped in the figure data."""
        return {s.key: s.kind for s in self.state}

    def panel(self, name: str) -> Panel:
        for panel in self.panels:
            if panel.name == name:
                return panel
        raise KeyError(
            f"experiment {self.name!r} has no panel {name!r}; panels: {', '.join(p.name for p in self.panels)}"
        )

    def planner(self) -> Callable:
        if callable(self.plan):
            return self.plan
        from importlib import import_module

        module, function = self.plan.split(":")
        return getattr(import_module(module), function)
