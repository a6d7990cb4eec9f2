"""`make install` installs with uv from pip's own package sources (scripts/pip_sources.py)."""

from __future__ import annotations

import importlib.util

from site_support import REPO

spec = importlib.util.spec_from_file_location("pip_sources", REPO / "scripts" / "pip_sources.py")
pip_sources = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pip_sources)


def test_pips_sources_become_uvs_arguments():
    listed = [
        ("find-links", "/opt/wheels"),
        ("find-links", "/opt/wheels"),  # the same folder from a file and from PIP_FIND_LINKS: once
        ("extra-index-url", "file:///a/simple file:///b/simple"),  # pip's white-space separated list
        ("constraint", "/etc/pip/constraints.txt"),
        ("cert", "/etc/ssl/certs/ca.crt"),  # not a source
        ("disable-pip-version-check", "1"),
    ]
    assert pip_sources.uv_arguments(listed) == [
        "--index-strategy", "unsafe-best-match",
        "--find-links", "/opt/wheels",
        "--extra-index-url", "file:///a/simple",
        "--extra-index-url", "file:///b/simple",
        "--constraint", "/etc/pip/constraints.txt",
    ]  # fmt: skip


def test_pip_config_lines_are_read_by_key():
    # `pip config list` prints scope.key='value'; the PIP_* variables come as :env:.key='value'
    pairs = pip_sources.pip_config()
    assert all(key and "." not in key for key, _ in pairs)
