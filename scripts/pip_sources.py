"""Print uv's arguments for the package sources pip is configured with (`pip config list`: files and
PIP_* variables): `make install` installs with uv, several times faster than pip on a small machine,
from the same places pip would use (its find-links folders, index URLs and constraint files).

    uv pip install $(python scripts/pip_sources.py) ...

pip treats all of its indexes alike, so uv is told to as well (--index-strategy unsafe-best-match)."""

from __future__ import annotations

import shlex
import subprocess
import sys

OPTIONS = {"find-links": "--find-links", "index-url": "--index-url", "extra-index-url": "--extra-index-url",
           "constraint": "--constraint"}  # fmt: skip


def pip_config() -> list[tuple[str, str]]:
    """(key, value) of every `scope.key='value'` line of `pip config list`, e.g. ('find-links', '/opt/wheels')."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    ).stdout
    pairs = []
    for line in listed.splitlines():
        name, _, value = line.partition("=")
        pairs.append((name.rsplit(".", 1)[-1], value.strip().strip("'\"")))
    return pairs


def uv_arguments(pairs: list[tuple[str, str]]) -> list[str]:
    seen, args = set(), ["--index-strategy", "unsafe-best-match"]
    for key, value in pairs:
        for item in value.split():  # pip takes several, separated by white space
            if key in OPTIONS and (key, item) not in seen:
                seen.add((key, item))
                args += [OPTIONS[key], item]
    return args


if __name__ == "__main__":
    print(shlex.join(uv_arguments(pip_config())))
