"""Where the hand-written site sources live (read by the site stage and by experiment declarations)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SITE_SRC = REPO / "site_src"  # mkdocs docs_dir: assets, overrides (pages are generated)
TEMPLATES = REPO / "templates"  # Jinja page templates
SCRIPTS = SITE_SRC / "assets" / "js"  # figure scripts
MKDOCS_YML = REPO / "mkdocs.yml"
