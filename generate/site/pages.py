"""Render the Jinja page templates into Markdown pages under the staged docs folder.

The overview is templates/index.md.j2; every lesson page comes from the experiment registry (its
template may live anywhere: an experiment outside the repository brings its own).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, StrictUndefined

from ..errors import UsageError
from ..toolkit import contract
from ..toolkit.contract import Page
from .maths import tex

INDEX = ("index.md", "index.md.j2")
# Pages for authors, after the lessons in the nav: (file, template, nav title).
GUIDES = (("make-your-own.md", "make_your_own.md.j2", "Make your own"),)


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}"


def _dist(value) -> str:
    """A distance between images: one decimal from 1 up, two below 1, so a small distance keeps its
    second digit (0.55, not 0.5 in one sentence and 0.55 in the next) and prints the same everywhere."""
    if value is None:
        return "n/a"
    return f"{value:.2f}" if abs(value) < 1 else f"{value:.1f}"


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _small(value, digits: int = 3) -> str:
    """A number that may be tiny (alpha_bar at the last timestep): as fmt down to 10^-digits, below
    that as one significant figure times a power of ten ("4 × 10⁻⁹"), never a row of zeros."""
    if value is None:
        return "n/a"
    if value == 0 or abs(value) >= 10**-digits:
        return f"{value:.{digits}f}"
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa} × 10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def _inside(templates: Path, page: Page) -> bool:
    return page.template.resolve().is_relative_to(templates.resolve())


def _template_name(templates: Path, page: Page) -> str:
    """Its name in the loader: relative to templates/, or "<page stem>/<file>" for one elsewhere."""
    if _inside(templates, page):
        return page.template.resolve().relative_to(templates.resolve()).as_posix()
    return f"{Path(page.file).stem}/{page.template.name}"


def environment(templates: Path, pages: list[Page] = (), scripts: dict[str, str] | None = None) -> Environment:
    # templates of experiments outside templates/ are found under their page's stem
    elsewhere = {
        Path(p.file).stem: FileSystemLoader(str(p.template.parent)) for p in pages if not _inside(templates, p)
    }
    loader = ChoiceLoader([FileSystemLoader(str(templates)), PrefixLoader(elsewhere)])
    # autoescape everything: model ids and labels come from manifests and must never become markup
    env = Environment(
        loader=loader,
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = _fmt
    env.filters["small"] = _small
    env.filters["dist"] = _dist
    env.filters["tex"] = tex  # LaTeX -> MathML at build time (templates/_maths.j2)
    env.filters["state"] = lambda value: json.dumps(value, separators=(",", ":"))
    env.globals["figure_scripts"] = scripts or {}  # kind -> its figure module (the scrolly macro's data-script)
    return env


_FIGURE_OR_STEP = re.compile(r'data-kind="([^"]+)"|class="nti-step" data-state="([^"]*)"')
VIEW = "view"  # a step may also name the view of a compact figure (figure-shell.js), an index


def check_steps(text: str, where: str, states: dict[str, dict[str, str]]) -> None:
    """Every text step sets only keys its figure declares (the experiment's `state`), each value of its
    kind: a fraction in 0..1, an index a whole number from 0. A step belongs to the figure before it."""
    kind = None
    for match in _FIGURE_OR_STEP.finditer(text):
        if match.group(1) is not None:
            kind = match.group(1)
            continue
        state = json.loads(html.unescape(match.group(2)))
        declared = states.get(kind)
        if declared is None:
            raise UsageError(
                f"{where}: a text step {state} follows no figure of a registered experiment (figure: {kind})"
            )
        for key, value in state.items():
            allowed = declared.get(key, contract.INDEX if key == VIEW else None)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if allowed is None:
                raise UsageError(
                    f"{where}: a text step of the {kind} figure sets {key!r}; its state keys are "
                    f"{', '.join(declared) or 'none'} (and view): declare the key on the experiment"
                )
            if allowed == contract.TOGGLE:
                if not isinstance(value, bool):
                    raise UsageError(
                        f"{where}: a text step of the {kind} figure sets {key}={value!r}; {key} is true or false"
                    )
                continue
            if (
                not number
                or (allowed == contract.FRACTION and not 0 <= value <= 1)
                or (allowed == contract.INDEX and (value < 0 or value != int(value)))
            ):
                what = {contract.FRACTION: "a fraction from 0 to 1", contract.INDEX: "a whole number from 0"}
                raise UsageError(
                    f"{where}: a text step of the {kind} figure sets {key}={value!r}; {key} is "
                    f"{what.get(allowed, 'a number')}"
                )


# A number keeps its percent sign on its line: a plain space let "0 %" break after the 0 on a 390-px
# phone (the guidance lesson, stop 42's reader's walk). The templates write "90 %" with a space, as
# SI does; it becomes a no-break one (U+00A0) here, once for every template.
_NUMBER_THEN_PERCENT = re.compile(r"(?<=\d) %")


def unbroken_percent(text: str) -> str:
    """`text` with the space between a number and its % a no-break space."""
    return _NUMBER_THEN_PERCENT.sub("\u00a0%", text)


def render_pages(
    templates: Path,
    docs: Path,
    context: dict,
    pages: list[Page],
    states: dict[str, dict[str, str]] | None = None,
    scripts: dict[str, str] | None = None,
) -> list[Path]:
    """The overview, one page per lesson page (each with the shared context plus its own), the guides.
    `states`: each experiment's declared state keys, against which every text step is checked;
    `scripts`: each figure kind's module, inside the site."""
    env, written = environment(templates, pages, scripts), []
    jobs = [(INDEX[0], INDEX[1], {})] + [
        (
            page.file,
            _template_name(templates, page),
            page.context(context["figures"], context["facts"]) if page.context else {},
        )
        for page in pages
    ]
    jobs += [(file, template, {}) for file, template, _ in GUIDES]
    for page_file, template, extra in jobs:
        root = "" if page_file == "index.md" else "../"  # use_directory_urls: every page but index is one level down
        text = unbroken_percent(env.get_template(template).render(context, **extra, root=root, page_file=page_file))
        if states is not None:
            check_steps(text, template, states)
        target = docs / page_file
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
