"""pytest hook for `make test`: keep what nbval executed, so the book is built from it.

With ``CLIPRL_EXECUTED_DIR`` set, every notebook nbval runs is written there after its last
cell, with the outputs of this run (figures included) in place of the stored ones, under the
chapter's own name (a ``.test-`` copy made by ``tools/notebook_test.py`` counts as its
chapter). Nothing changes for nbval's comparison itself.
"""

from __future__ import annotations

import os
from pathlib import Path

# Tests never reach a model hub (the machines that run them cannot): a model that is not
# on disk fails at once instead of after network retries.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# The package pins the book's numerics when imported (cliprl_helpers.core.numerics): numpy's SIMD
# dispatch is chosen when numpy is imported, so the package comes first, before any test
# module or plugin imports numpy. `make test` also exports the pins.
import cliprl_helpers  # noqa: E402,F401


def pytest_runtest_teardown(item, nextitem):
    out = os.environ.get("CLIPRL_EXECUTED_DIR")
    if not out or type(item).__name__ != "IPyNbCell":
        return
    if item.test_outputs is not None:
        item.cell.outputs = list(item.test_outputs)
        item.cell.execution_count = item.cell_num + 1
    if nextitem is not None and nextitem.parent is item.parent:
        return
    import nbformat

    nb = item.parent.nb
    name = Path(str(item.parent.fspath)).name.removeprefix(".test-")
    path = Path(out) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{name}.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(path)
