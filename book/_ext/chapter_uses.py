"""Sphinx extension of the book: each documented function or class of ``cliprl_helpers`` on the
API page says which chapters call it (as d2l marks where its saved functions come from).

The chapters' code cells are scanned for ``module.name`` with ``module`` one of the package's
modules (``from cliprl_helpers.core import experiment`` then ``experiment.run_grid``) and for
``from cliprl_helpers.layer.module import name``; each name is resolved to the object it is, so a
re-export (``tasks.distances`` is :func:`cliprl_helpers.grid.distances`) counts for the
object's home.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path


def chapter_uses(notebooks: Path) -> dict[str, list[str]]:
    """``{"cliprl_helpers.module.Name": [notebook stem, ...]}`` for every package object a
    chapter names."""
    import cliprl_helpers

    modules = {m.name.rsplit(".", 1)[-1]: importlib.import_module(m.name)
               for m in pkgutil.walk_packages(cliprl_helpers.__path__, "cliprl_helpers.")
               if not m.ispkg}
    uses: dict[str, list[str]] = {}
    for nb in sorted(notebooks.glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        names = set(re.findall(r"\b(\w+)\.(\w+)\b", code))
        for block in re.findall(r"from cliprl_helpers\.\w+\.(\w+) import \(?([\w\s,]+)\)?",
                                code):
            names |= {(block[0], n.strip()) for n in block[1].split(",") if n.strip()}
        for mod, name in names:
            obj = getattr(modules.get(mod), name, None)
            home = getattr(obj, "__module__", None)
            if obj is None or not str(home).startswith("cliprl_helpers"):
                continue
            key = f"{home}.{getattr(obj, '__qualname__', name)}"
            if nb.stem not in uses.setdefault(key, []):
                uses[key].append(nb.stem)
    return uses


def setup(app):
    state: dict[str, dict[str, list[str]]] = {}

    def add_uses(app, what, name, obj, options, lines):
        if what not in ("function", "class"):
            return
        if "uses" not in state:
            state["uses"] = chapter_uses(Path(app.srcdir) / "notebooks")
        chapters = state["uses"].get(name)
        if chapters:
            refs = ", ".join(f":doc:`/notebooks/{c}`" for c in chapters)
            lines.extend(["", f"*Used in:* {refs}."])

    app.connect("autodoc-process-docstring", add_uses)
    return {"parallel_read_safe": True, "version": "1"}
