"""benchmarks/README.md's tables cannot go stale: they equal what benchmarks/tables.py renders from
the result files, and the precompute results measure every registered experiment."""

from __future__ import annotations

import importlib.util
import json

from site_support import REPO

from generate import experiments


def _tables():
    spec = importlib.util.spec_from_file_location("bench_tables", REPO / "benchmarks" / "tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_tables_are_the_result_files():
    tables = _tables()
    text = tables.README.read_text()
    assert tables.MARKED.search(text), "benchmarks/README.md has no generated table"
    assert tables.render(text) == text, "benchmarks/README.md is stale: run benchmarks/tables.py"


def test_the_precompute_results_measure_every_registered_experiment():
    latest = json.loads((REPO / "benchmarks" / "results" / "latest.json").read_text())
    measured = set(latest["precompute"]["experiments"]) - {"all"}
    missing = sorted(set(experiments.names()) - measured)
    assert not missing, f"benchmarks/results/latest.json does not measure {missing}: run benchmarks/run.py"


def test_a_changed_result_shows_in_the_table(tmp_path, monkeypatch):
    """The check is real: a result file that says otherwise makes the README stale."""
    tables = _tables()
    latest = json.loads((tables.RESULTS / "latest.json").read_text())
    latest["precompute"]["experiments"]["all"]["model_calls"] += 1
    (tmp_path / "latest.json").write_text(json.dumps(latest))
    monkeypatch.setattr(tables, "RESULTS", tmp_path)
    text = tables.README.read_text()
    assert tables.render(text) != text
