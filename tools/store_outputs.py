"""Execute notebooks in place, keep only the outputs nbval compares, and record the chapter's
published reference (``results/checks.json``).

Usage: python tools/store_outputs.py notebooks/01_environment.ipynb [...]

Cells marked ``# NBVAL_CHECK_OUTPUT`` keep their (text) outputs, which nbval then compares
on every ``make test``; every other output is dropped so that figures never bloat git.

The chapter runs with ``CLIPRL_RECORD_CHECKS=1``: each :func:`cliprl_helpers.repro.reference.check`
records its table as the reference for the chapter's stored parameters. A chapter with
``make test`` parameters (``"cliprl": {"test_parameters": ...}`` in its metadata) is then run
once more at those (a papermill copy, not kept), so ``make test`` has a reference too.
Recording needs reference numerics on x86-64 (the default).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARK = "# NBVAL_CHECK_OUTPUT"


def store(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=3600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if MARK in cell.source:
            kept = []
            for out in cell.outputs:
                if out.output_type in ("execute_result", "display_data"):
                    out.data = {k: v for k, v in out.data.items() if k.startswith("text/")}
                    if not out.data:
                        continue
                kept.append(out)
            cell.outputs = kept
        else:
            cell.outputs = []
    tmp = path.with_suffix(".ipynb.tmp")
    nbformat.write(nb, tmp)
    tmp.replace(path)
    print(f"stored {path}")
    params = nb.metadata.get("cliprl", {}).get("test_parameters")
    if params:
        import papermill

        with tempfile.TemporaryDirectory() as d:
            papermill.execute_notebook(str(path), str(Path(d) / path.name), parameters=params,
                                       cwd=str(path.parent), progress_bar=False,
                                       kernel_name="python3")
        print(f"recorded the references of {path.name} at its make-test parameters {params}")


if __name__ == "__main__":
    os.environ["CLIPRL_RECORD_CHECKS"] = "1"  # the kernels inherit it
    import cliprl_helpers  # noqa: F401  (pins reference numerics for the kernels too)
    from cliprl_helpers.core import numerics

    if not numerics.guaranteed():
        sys.exit(f"store_outputs: references are recorded in reference numerics on x86-64; "
                 f"this process computes in {numerics.describe()}")
    for arg in sys.argv[1:]:
        store(Path(arg))
