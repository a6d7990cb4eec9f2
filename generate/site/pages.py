"""Render the Jinja page templates (templates/*.md.j2) into Markdown pages under site_src/."""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

# page file -> (template, title); the order is the reading order of the explainer
PAGES = {
    "index.md": "index.md.j2",
    "reverse.md": "reverse.md.j2",
    "step-counts.md": "step_counts.md.j2",
    "forward-backward.md": "forward_backward.md.j2",
    "similar-noise.md": "similar_noise.md.j2",
}


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}"


def environment(templates: Path) -> Environment:
    # autoescape everything: model ids and labels come from manifests and must never become markup
    env = Environment(loader=FileSystemLoader(str(templates)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["fmt"] = _fmt
    env.filters["state"] = lambda value: json.dumps(value, separators=(",", ":"))
    return env


def render_pages(templates: Path, site_src: Path, context: dict) -> list[Path]:
    env, written = environment(templates), []
    for page, template in PAGES.items():
        root = "" if page == "index.md" else "../"  # use_directory_urls: every page but index is one level down
        text = env.get_template(template).render(context, root=root, page_file=page)
        target = site_src / page
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
