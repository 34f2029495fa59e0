"""Execute notebooks in place and keep only the outputs nbval compares.

Usage: python tools/store_outputs.py notebooks/01_environment.ipynb [...]

Cells marked ``# NBVAL_CHECK_OUTPUT`` keep their (text) outputs, which nbval then compares
on every ``make test``; every other output is dropped so that figures never bloat git.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARK = "# NBVAL_CHECK_OUTPUT"


def store(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=1800, kernel_name="python3",
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


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        store(Path(arg))
