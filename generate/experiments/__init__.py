"""The experiment registry: every experiment the precompute can run and the site can show.

Each experiment is one declared object (contract.Experiment) in its own package; the config
sections, `--only`, the CLI help, the manifests' allowed names, the page list, the nav and the
figure scripts all come from here. To add one, write its package (declaration, compute, figure),
its template and its figure script, and add it to _built_in() below (or `register` it at run time,
as tests/toy_experiment does): see ARCHITECTURE.md.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from ..errors import UsageError
from ..toolkit.contract import Experiment, Page


def _built_in() -> tuple[Experiment, ...]:
    """The built-in experiments, in the explainer's reading order, from concrete to abstract: what noise
    does to a picture and what denoising gives back (forward and backward), one reverse step at a time,
    what the number of steps and the sampler change, the paths as a whole (trajectories), the start
    noise as the picture's address (similar noise), what a class label and the guidance scale
    add to it (guidance), then the theory of the noise levels (schedules)
    and of frequencies (coarse to fine). Live last (no page: the figures use it).

    Imported on the registry's first use, not with this package: `precompute --help` and the
    toolkit's users need the registry's functions, not every figure module."""
    from .forward_backward import FORWARD_BACKWARD
    from .guidance import GUIDANCE
    from .live import LIVE
    from .reverse import REVERSE
    from .samplers import SAMPLERS
    from .schedules import SCHEDULES
    from .similar_noise import MIX_NOISE, PATCH_NOISE
    from .spectra import SPECTRA
    from .step_counts import STEP_COUNTS
    from .trajectories import TRAJECTORIES

    return (
        FORWARD_BACKWARD,
        REVERSE,
        STEP_COUNTS,
        SAMPLERS,
        TRAJECTORIES,
        PATCH_NOISE,
        MIX_NOISE,
        GUIDANCE,
        SCHEDULES,
        SPECTRA,
        LIVE,
    )


_REGISTRY: dict[str, Experiment] = {}
_LOADED = False


def _registry() -> dict[str, Experiment]:
    """The registry, the built-in experiments first (in reading order), then any registered at run time."""
    global _LOADED
    if not _LOADED:
        _LOADED = True
        extra = dict(_REGISTRY)
        _REGISTRY.clear()
        for experiment in _built_in():
            _register(experiment)
        for experiment in extra.values():
            _register(experiment)
    return _REGISTRY


def register(experiment: Experiment) -> Experiment:
    _registry()
    return _register(experiment)


def _register(experiment: Experiment) -> Experiment:
    if experiment.name in _REGISTRY and _REGISTRY[experiment.name] is not experiment:
        raise ValueError(f"an experiment named {experiment.name!r} is already registered")
    if not experiment.name.isidentifier():
        raise ValueError(f"experiment name {experiment.name!r}: must be a Python identifier (it names a TOML section)")
    _REGISTRY[experiment.name] = experiment
    return experiment


@contextmanager
def registered(experiment: Experiment) -> Iterator[Experiment]:
    """Register for the duration of a block (tests, notebooks); the registry is as before afterwards."""
    register(experiment)
    try:
        yield experiment
    finally:
        _REGISTRY.pop(experiment.name, None)


def names() -> tuple[str, ...]:
    return tuple(_registry())


def all_experiments() -> list[Experiment]:
    return list(_registry().values())


def get(name: str) -> Experiment:
    try:
        return _registry()[name]
    except KeyError:
        raise UsageError(f"experiment {name!r} is unknown; allowed: {', '.join(_registry())}") from None


def pages() -> list[Page]:
    """The lesson pages in reading order, each once (experiments may share a page)."""
    seen: dict[str, Page] = {}
    for experiment in _registry().values():
        if experiment.page is not None:
            seen.setdefault(experiment.page.file, experiment.page)
    return list(seen.values())
