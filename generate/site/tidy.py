"""Small repairs of the theme's HTML after `mkdocs build`, so every page stays valid HTML.

With `navigation.tabs`, mkdocs-material writes `tabindex=""` on the label of a nav section (its
partials/nav-item.html sets the value only for non-sections); an empty tabindex is not a valid
integer (W3C Nu validator), so the empty attribute is dropped, which is what the theme means.
"""

from __future__ import annotations

import re
from pathlib import Path

_EMPTY_TABINDEX = re.compile(r'(<label\b[^>]*?)\s+tabindex=""')


def drop_empty_tabindex(out: Path) -> int:
    """Remove `tabindex=""` from labels in every page under `out`; returns how many were removed."""
    removed = 0
    for page in out.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        fixed, count = _EMPTY_TABINDEX.subn(r"\1", html)
        if count:
            page.write_text(fixed, encoding="utf-8")
            removed += count
    return removed
