"""`make test`'s notebook steps: every chapter is executed once, by nbval, and the book is
built from those executions.

    python tools/notebook_test.py prepare   # print the notebooks nbval should run
    python tools/notebook_test.py foreign   # print the copies the foreign-kernel run uses
    python tools/notebook_test.py stage     # lay out _build/staged/ from nbval's executions
    python tools/notebook_test.py stage DIR # ... from the executions in DIR (make book's)

``prepare``: a chapter whose stored defaults are heavy lists smaller parameters in its
metadata (``"cliprl": {"test_parameters": {...}}``); for it, papermill writes a parameterised
copy ``notebooks/.test-<name>.ipynb`` (not executed; its stored outputs, which nbval compares,
are kept). The notebooks to run are printed one per line: the copy where there is one, else
the chapter itself.

``foreign``: the chapters in :data:`FOREIGN` run once more with the reference pins off
(``make nbval-foreign``); their copies ``notebooks/.foreign-<name>.ipynb`` have the test
parameters and send any sweep they start to ``runs/quick-foreign`` (a sweep in native numerics
must not share run folders with the reference run beside it).

While nbval runs them, ``conftest.py`` writes each executed notebook, every output included,
to ``_build/executed/<name>.ipynb``. ``stage`` copies the book's sources to ``_build/staged/``
with those executed notebooks in place of the chapters and execution switched off, so the
``-W -n`` book build renders what nbval executed instead of executing every chapter again.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EXECUTED = ROOT / "_build" / "executed"
STAGED = ROOT / "_build" / "staged"
TEST_PREFIX = ".test-"
FOREIGN_PREFIX = ".foreign-"
#: The chapters the foreign-kernel run executes: every kind of compared output that goes
#: through CPU kernels (sentence cosines and weights, 3; alignment losses and signs, 4;
#: retrieval, steps and ratios of every method, 5). Chapter 2's check is the trainer alone, the
#: same bits on every kernel path (tests/test_numerics.py); chapters 6 to 9 compare premises,
#: steps and ratios with the same tolerances as 3 and 5 (chapter 7's Minigrid room goes through
#: the same trainer and alignment as chapter 5, from a table: tests/test_mdp.py), and running
#: them too would more than double the run's time.
FOREIGN = ("03", "04", "05")


def chapters() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def test_parameters(path: Path) -> dict:
    """The smaller parameters a chapter is tested with ({} if its defaults are light)."""
    return dict(nbformat.read(path, 4).metadata.get("cliprl", {}).get("test_parameters", {}))


def _parameterised_copy(path: Path, prefix: str, params: dict) -> Path:
    """``notebooks/<prefix><name>``: the chapter with ``params`` injected, not executed."""
    import papermill

    copy = path.with_name(prefix + path.name)
    papermill.execute_notebook(str(path), str(copy), parameters=params, prepare_only=True,
                               progress_bar=False, kernel_name="python3")
    return copy


def prepare() -> list[Path]:
    out = []
    for path in chapters():
        params = test_parameters(path)
        out.append(_parameterised_copy(path, TEST_PREFIX, params) if params else path)
    return out


def foreign() -> list[Path]:
    import papermill

    out = []
    for path in chapters():
        if path.name[:2] not in FOREIGN:
            continue
        params = test_parameters(path)
        if "quick_out" in papermill.inspect_notebook(str(path)):  # a chapter that sweeps
            params["quick_out"] = "../runs/quick-foreign"
        out.append(_parameterised_copy(path, FOREIGN_PREFIX, params))
    return out


def stage(executed: Path = EXECUTED) -> Path:
    """Lay out ``_build/staged/`` from the executed chapters in ``executed``; raises if a
    chapter was not executed."""
    missing = [p.name for p in chapters() if not (executed / p.name).is_file()]
    if missing:
        raise SystemExit(f"not executed (see the report above): {', '.join(missing)}")
    if STAGED.exists():
        shutil.rmtree(STAGED)
    (STAGED / "notebooks").mkdir(parents=True)
    shutil.copytree(ROOT / "book", STAGED / "book")
    if (ROOT / "_static").is_dir():
        shutil.copytree(ROOT / "_static", STAGED / "_static")
    shutil.copy(ROOT / "_toc.yml", STAGED / "_toc.yml")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    (STAGED / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    for p in chapters():
        nb = nbformat.read(executed / p.name, 4)
        nb.metadata.get("mystnb", {}).pop("execution_mode", None)  # the staged book does not run
        nbformat.write(nb, STAGED / "notebooks" / p.name)
    return STAGED


if __name__ == "__main__":
    if sys.argv[1:] == ["prepare"]:
        print("\n".join(str(p.relative_to(ROOT)) for p in prepare()))
    elif sys.argv[1:] == ["foreign"]:
        print("\n".join(str(p.relative_to(ROOT)) for p in foreign()))
    elif sys.argv[1:2] == ["stage"] and len(sys.argv) <= 3:
        source = Path(sys.argv[2]) if len(sys.argv) == 3 else EXECUTED
        print(f"staged the book with the executions of {source} in "
              f"{stage(ROOT / source).relative_to(ROOT)}/")
    else:
        sys.exit("usage: python tools/notebook_test.py prepare|foreign|stage [DIR]")
