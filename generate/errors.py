"""Errors a user can fix. The CLI prints them as one line and exits with code 2."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: a config value, a path, a model folder, a manifest.

    The message must name the file and/or field and say what is allowed.
    """

    exit_code = 2
