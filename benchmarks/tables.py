"""The tables of benchmarks/README.md, generated from the result files, so they cannot go stale.

    .venv/bin/python benchmarks/tables.py          # rewrite the tables in benchmarks/README.md
    .venv/bin/python benchmarks/tables.py --check  # exit 1 if a table differs from its result file

Each generated table sits between `<!-- table:NAME -->` and `<!-- /table -->`; the prose around it
is written by hand. tests/test_benchmark_tables.py runs the check, and also fails when a result file
measures fewer experiments than the registry has.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
RESULTS = HERE / "results"


def _seconds(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def precompute_table(latest: dict) -> str:
    """Per experiment of results/latest.json: model calls, images, wall time, and its efficiency
    against the two ceilings (best batch; the same calls at their batch sizes)."""
    rows = latest["precompute"]["experiments"]
    lines = [
        "| experiment | model calls | images | wall s | best-batch s | efficiency | same-calls s | efficiency |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in [n for n in rows if n != "all"] + ["all"]:
        r = rows[name]
        label = "**all**" if name == "all" else name
        if r.get("model"):  # an experiment on its own model (guidance: the class-conditional one), not in "all"
            label += f" (on `{r['model']}`, not in all)"
        if not r["images"]:  # no model call (live mode's ONNX export): no ceiling to compare with
            lines.append(f"| {label} | 0 | 0 | {_seconds(r['seconds'])} | – | – | – | – |")
            continue
        lines.append(
            f"| {label} | {r['model_calls']:,} | {r['images']:,} | {_seconds(r['seconds'])} | "
            f"{_seconds(r['ceiling_seconds'])} | {round(100 * r['efficiency'])} % | "
            f"{_seconds(r['same_calls_seconds'])} | {round(100 * r['efficiency_vs_same_calls'])} % |"
        )
    p = latest["precompute"]
    lines.append("")
    lines.append(
        f"Model `{latest['model']}`, config `{latest['config']}`, {latest['date']}; UNet ceiling "
        f"{p['best_images_per_s']:.0f} images/s at batch {p['best_batch']}; the whole precompute process "
        f"{_seconds(p['process_seconds'])} s, peak {p['peak_rss_mb']:.0f} MB RSS "
        f"({latest['machine']['cpus']} CPUs, {latest['machine']['device']})."
    )
    return "\n".join(lines)


TABLES = {"precompute": lambda: precompute_table(json.loads((RESULTS / "latest.json").read_text()))}
MARKED = re.compile(r"(<!-- table:(\w+) -->\n)(.*?)(<!-- /table -->)", re.S)


def render(text: str) -> str:
    """The README with every marked table regenerated; an unknown table name is an error."""

    def one(match: re.Match) -> str:
        name = match.group(2)
        if name not in TABLES:
            raise SystemExit(f"{README}: no generator for table {name!r}; known: {', '.join(TABLES)}")
        return f"{match.group(1)}{TABLES[name]()}\n{match.group(4)}"

    return MARKED.sub(one, text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a table differs from its result file")
    args = parser.parse_args()
    text = README.read_text()
    fresh = render(text)
    if args.check:
        if fresh != text:
            print(f"{README}: tables differ from the result files; run benchmarks/tables.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
