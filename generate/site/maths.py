"""Equations for the pages, written in LaTeX in the templates and turned into MathML at build time.

The browser draws MathML itself (Chromium 109+, Firefox, Safari): no script renders it and no font
or stylesheet is fetched from elsewhere, so the pages keep their CSP and load nothing extra. The
`tex` filter is the one place LaTeX becomes markup; templates/_maths.j2 holds the shared equations.
"""

from __future__ import annotations

import functools
import re

from latex2mathml.converter import convert
from markupsafe import Markup

from ..errors import UsageError

_XMLNS = ' xmlns="http://www.w3.org/1998/Math/MathML"'  # implied for <math> in HTML: left out, bytes saved
_BARE_AMP = re.compile(r"&(?!#x?[0-9A-Fa-f]+;|[a-z]+;)")


@functools.lru_cache(maxsize=None)
def _mathml(latex: str, display: bool) -> str:
    mathml = convert(latex, display="block" if display else "inline").replace(_XMLNS, "")

    # Characters come as numeric references (&#x003B1;): write the characters themselves (the pages
    # are UTF-8), readable and smaller, except markup's own.
    def char(match: re.Match) -> str:
        c = chr(int(match.group(1), 16))
        return match.group(0) if c in "<>&\"'" else c

    mathml = re.sub(r"&#x([0-9A-Fa-f]+);", char, mathml)
    # What the converter cannot express it writes as <merror> or a bare "&" (alignment); named
    # negative spaces (from \\!) are not MathML Core; "~" as an identifier is how it writes \\sim.
    # Refuse them here, naming the formula, rather than ship a page with a broken equation.
    if (
        "<merror" in mathml
        or _BARE_AMP.search(mathml)
        or " style=" in mathml
        or "negative" in mathml
        or "<mi>~</mi>" in mathml
    ):
        raise UsageError(
            f"equation {latex!r}: latex2mathml cannot write it as plain MathML (no alignment "
            "'&', colours or \\!; \\thicksim for \\sim); split or rewrite it"
        )
    return mathml


def tex(latex: str, display: bool = False) -> Markup:
    """LaTeX -> a <math> element (display: a block of its own). A Jinja filter: `{{ "x_t" | tex }}`;
    in a template, LaTeX with backslashes is best written as a call block's body (templates/_maths.j2),
    where Jinja leaves backslashes alone."""
    return Markup(_mathml(str(latex).strip(), bool(display)))
