"""What each lesson's text claims about its figure, computed from the runs the figure shows.

Each experiment declares its `facts` (experiments/<name>/figure.py); the pages word their claims
from those numbers (and switch wording where the data say otherwise), and tests/test_claims.py
checks the claims against the default runs, so a sentence on the site cannot silently contradict
the figure beside it. The helpers here read frames as the reader sees them: torch is not needed.
"""

from __future__ import annotations

from ..toolkit.runs import Run


def for_models(chosen: dict[tuple[str, str], Run]) -> dict[str, dict]:
    """Every lesson's facts, per model slug and experiment, for the runs the site shows: each
    experiment's declared `facts` sees its own run and the model's other runs (by experiment)."""
    from .. import experiments

    by_model: dict[str, dict[str, Run]] = {}
    for (slug, name), run in chosen.items():
        by_model.setdefault(slug, {})[name] = run
    facts: dict[str, dict] = {}
    for slug, runs in by_model.items():
        entry = facts.setdefault(slug, {})
        for name, run in runs.items():
            declared = experiments.get(name).facts
            if declared:
                entry[name] = declared(run, runs)
    return facts
