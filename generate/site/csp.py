"""Content-Security-Policy: only 'self', plus the exact hashes of the theme's own inline scripts.

mkdocs-material writes a few small inline scripts (scope, palette, config). Rather than allowing
'unsafe-inline', the built pages are scanned and each inline script's sha256 is listed. With instant
navigation the first page's <meta> stays in force for the whole visit, so every page gets the union.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

PLACEHOLDER = "NTI-CSP-SCRIPT-HASHES"
_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S | re.I)
_EXECUTABLE_TYPES = ("", "text/javascript", "module", "application/javascript")


def inline_script_hashes(html: str) -> set[str]:
    hashes = set()
    for match in _SCRIPT.finditer(html):
        attrs = match.group("attrs")
        if re.search(r"\ssrc\s*=", attrs):
            continue
        kind = re.search(r"\stype\s*=\s*[\"']?([^\"'\s>]+)", attrs)
        if (kind.group(1).lower() if kind else "") not in _EXECUTABLE_TYPES:
            continue  # JSON data blocks never execute, so CSP does not apply to them
        digest = hashlib.sha256(match.group("body").encode("utf-8")).digest()
        hashes.add(f"'sha256-{base64.b64encode(digest).decode()}'")
    return hashes


def apply_csp(site: Path) -> list[str]:
    """Fill the placeholder of every page with the union of inline-script hashes; return the hashes."""
    pages = sorted(site.rglob("*.html"))
    texts = {page: page.read_text(encoding="utf-8") for page in pages}
    hashes = sorted(set().union(*(inline_script_hashes(t) for t in texts.values())) if texts else set())
    for page, text in texts.items():
        fixed = _valid_html(text.replace(PLACEHOLDER, " ".join(hashes)))
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")
    return hashes


def _valid_html(text: str) -> str:
    """The theme puts autocomplete="off" on its checkbox toggles, which HTML allows only on text-like
    inputs (the W3C validator reports it); the toggles work the same without it."""
    return re.sub(r'(<input\b[^>]*type="checkbox"[^>]*?)\s+autocomplete="off"', r"\1", text)
