"""report.glue works with myst-nb (the book build) and without it (pip install -e . alone)."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from cliprl_helpers.analysis import report


@pytest.fixture
def shown(monkeypatch):
    out = []
    monkeypatch.setattr(report, "_display", out.append)
    return out


def test_glue_without_myst_nb_shows_the_value_only_when_asked(monkeypatch, shown):
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # makes `import myst_nb` fail
    report.glue("hidden", "kept for another page", display=False)
    assert shown == []
    report.glue("visible", "shown here", display=True)
    assert shown == ["shown here"]


def test_glue_with_myst_nb_hands_the_value_to_myst_nb(monkeypatch, shown):
    calls = []
    fake = type(sys)("myst_nb")
    fake.glue = lambda name, value, display=True: calls.append((name, value, display))
    monkeypatch.setitem(sys.modules, "myst_nb", fake)
    report.glue("verdict", "a table", display=False)
    assert calls == [("verdict", "a table", False)] and shown == []


def test_a_figure_carries_its_alt_text_escaped():
    import base64
    import re

    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([1, 2])
    out = report.figure(fig, 'ratio 1.45 [1.31, 1.61] & "more"').data
    assert 'alt="ratio 1.45 [1.31, 1.61] &amp; &quot;more&quot;"' in out
    data = re.search(r'src="data:image/png;base64,([^"]+)"', out).group(1)
    assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    plt.close(fig)


def test_report_html_is_escaped_and_structured():


    out = report.to_html("**Target:** a < b & `x`\n\n* one\n* **two**")
    assert out == ("<p><strong>Target:</strong> a &lt; b &amp; <code>x</code></p>\n"
                   "<ul><li>one</li><li><strong>two</strong></li></ul>")
    out = report.to_html("* *as printed*: **holds**, 2 * 3 = 6, *x*y")
    assert out == ("<ul><li><em>as printed</em>: <strong>holds</strong>, 2 * 3 = 6, "
                   "*x*y</li></ul>")
    box = report.admonition("small sweep").data
    assert box.startswith('<div class="admonition warning"><p class="admonition-title">Warning')


def test_report_table_rounds_once_and_formats_p_values():


    html = report.table(pd.DataFrame({"x": [0.57], "p": [0.01234], "name": ["a"]})).to_html()
    assert ">0.57<" in html and ">0.012<" in html and "0.570000" not in html
    html = report.table(pd.DataFrame({"rho": [0.299473]})).to_html()
    assert ">0.30<" in html
