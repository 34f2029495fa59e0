"""Computed sentences for the book's pages, as HTML that glue can carry across pages.

Jupyter Book pastes a glued output into *another* page only as text, HTML or an image, so the
verdict and headline sentences (built as a small subset of Markdown by
:mod:`cliprl_helpers.analysis.stats`) are turned into HTML here: paragraphs, ``* `` bullet lists,
``**bold**``, ``*emphasis*`` (an asterisk that touches a word on its inner side only: ``a * b``
stays as it is) and ```code```; everything else is escaped.
"""

from __future__ import annotations

import base64
import html as _html
import io
import re

from IPython.display import HTML
from IPython.display import display as _display


def glue(name: str, value, display: bool = True) -> None:
    """Keep ``value`` under ``name`` for other pages of the book (``myst_nb.glue``).

    myst-nb is a dependency of the book build, not of the package: where it is not installed
    (``pip install -e .`` alone, Binder, a plain Jupyter) the value is only shown (when
    ``display``) and the chapter runs the same.
    """
    try:
        # lazy: myst_nb is importable only where the book is built
        from myst_nb import glue as _glue
    except ImportError:
        if display:
            _display(value)
        return
    _glue(name, value, display=display)


def to_html(markdown: str) -> str:
    """The subset of Markdown described above as an HTML string."""
    blocks = []
    for block in re.split(r"\n\s*\n", markdown.strip()):
        lines = block.splitlines()
        if lines and all(line.startswith("* ") for line in lines):
            items = "".join(f"<li>{_inline(line[2:])}</li>" for line in lines)
            blocks.append(f"<ul>{items}</ul>")
        else:
            blocks.append(f"<p>{_inline(' '.join(lines))}</p>")
    return "\n".join(blocks)


def _inline(text: str) -> str:
    text = _html.escape(text, quote=False)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"(?<![\w*])\*(?![\s*])(.+?)(?<![\s*])\*(?![\w*])", r"<em>\1</em>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def html(markdown: str) -> HTML:
    """:func:`to_html` as an object that displays (and glues) as HTML."""
    return HTML(to_html(markdown))


def figure(fig, alt: str) -> HTML:
    """A matplotlib figure as an HTML image carrying ``alt`` as its alternative text (a
    glued figure alone has none), for pages that paste it (``{glue:}``)."""

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    data = base64.b64encode(buf.getvalue()).decode()
    return HTML(f'<figure class="cliprl-figure"><img src="data:image/png;base64,{data}" '
                f'alt="{_html.escape(alt)}" style="max-width: 100%"></figure>')


def admonition(markdown: str, kind: str = "warning") -> HTML:
    """A boxed note in the book theme's style (``kind``: note, warning, ...)."""
    title = kind.capitalize()
    return HTML(f'<div class="admonition {kind}"><p class="admonition-title">{title}</p>'
                f"{to_html(markdown)}</div>")


def table(frame, index: bool = False, lines: bool = False):
    """A DataFrame as a plain table for a page: one header row, no index column (unless
    ``index``), cells kept on one line (the book's CSS scrolls a wide table sideways); with
    ``lines``, a cell's ``\n`` starts a new line instead, so a narrow table can hold several
    facts per cell."""
    styler = frame.style if index else frame.style.hide(axis="index")
    pvalues = {c: "{:.3f}" for c in frame.columns
               if isinstance(c, str) and (c == "p" or c.startswith("p ("))}
    styler = styler.format(precision=2, na_rep="n/a", escape="html")
    if pvalues:
        styler = styler.format(pvalues, subset=list(pvalues), na_rep="n/a")
    kind = "cliprl-table cliprl-lines" if lines else "cliprl-table"
    return styler.set_table_attributes(f'class="dataframe {kind}"')
