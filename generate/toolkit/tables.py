"""Manifest frames as a table (a CSV download of a figure's numbers)."""

from __future__ import annotations

from .contract import Table


def scalar(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def frames_table(name: str, records: list[dict]) -> Table:
    """Manifest frames as rows: their file, coords, then every number of their metrics (lists, such
    as a spectrum, are left to the manifest). Columns in the order they first appear."""
    coords, metrics = [], []
    for record in records:
        coords += [k for k in record["coords"] if k not in coords]
        metrics += [k for k, v in record.get("metrics", {}).items() if scalar(v) and k not in metrics]
    rows = [
        [record["file"]]
        + [record["coords"].get(k, "") for k in coords]
        + [record.get("metrics", {}).get(k, "") for k in metrics]
        for record in records
    ]
    return Table(name, ["file"] + coords + metrics, rows)
