"""environment.yml and pyproject.toml pin the same packages at the same versions."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines):
    out = {}
    for line in lines:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line.strip())
        assert m, f"not an exact pin: {line!r}"
        out[m.group(1).lower().replace("_", "-")] = m.group(2)
    return out


SUPPORTED = ("3.11", "3.12", "3.13")


def test_environment_yml_agrees_with_pyproject_and_the_lock():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11,<3.14"
    py_pins = _pins(project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python>=3.11,<3.14" in env["dependencies"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_pins = _pins([p for p in pip_section if not p.startswith("-")])
    assert conda_pins == py_pins
    options = [p for p in pip_section if p.startswith("-") and not p.startswith("-e")]
    assert options == ["-c constraints.txt",
                       "--extra-index-url https://download.pytorch.org/whl/cpu"]
    assert [p for p in pip_section if not p.startswith("-")][0] == "torch==2.13.0"
    # every direct pin is the lock's version
    from cliprl_helpers.repro import codeprint

    locked = codeprint.locked_versions()
    for name, version in py_pins.items():
        assert locked.get(name.replace(".", "-")) == [version], name


def test_the_makefile_names_no_python_version_in_a_path_and_installs_through_the_lock():
    make = (ROOT / "Makefile").read_text()
    assert not re.search(r"python3\.\d+/|lib/python3", make)
    assert re.search(r"^SUPPORTED_PYTHONS := 3\.13 3\.12 3\.11$", make, re.M)
    assert re.search(r"^LOCK +:= constraints\.txt$", make, re.M)
    assert re.search(r"^PIP := .* -c \$\(LOCK\)$", make, re.M)
    assert re.search(r"^\$\(STAMP\): pyproject\.toml \$\(LOCK\)$", make, re.M)
    assert re.search(r"^TORCH_INDEX \?= https://download\.pytorch\.org/whl/cpu$", make, re.M)


def test_publishing_workflow_is_valid_and_runs_the_readme_command():
    import yaml

    root = Path(__file__).resolve().parents[1]
    wf = yaml.safe_load((root / ".github/workflows/book.yml").read_text())
    steps = wf["jobs"]["build"]["steps"]
    assert any(s.get("run") == "make book" for s in steps)
    assert "make book" in (root / "README.md").read_text()
    uses = [s.get("uses", "") for job in wf["jobs"].values() for s in job["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert any(u.startswith("actions/deploy-pages") for u in uses)
    assert wf["jobs"]["build"]["steps"][1]["with"]["python-version"] in SUPPORTED


def papermill_params(nb) -> list[str]:
    """Names assigned in a notebook's first code cell (its papermill parameters)."""
    first = next(c for c in nb.cells if c.cell_type == "code")
    return [line.split("=")[0].strip() for line in first.source.splitlines()
            if "=" in line and not line.startswith("#")]


def test_every_notebook_exposes_its_parameters_to_papermill():
    import papermill

    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        params = papermill.inspect_notebook(str(nb))
        assert params, f"{nb.name}: no parameters cell"
        book_nb = __import__("nbformat").read(nb, 4)
        first = next(c for c in book_nb.cells if c.cell_type == "code")
        assert "parameters" in first.metadata.get("tags", []), nb.name
        names = papermill_params(book_nb)
        assert sorted(params) == sorted(names), f"{nb.name}: papermill sees {sorted(params)}"


def test_book_build_cannot_show_stale_published_results():
    """Chapters 6 and 9 read the published results by default; `make book` checks they are
    current before it executes anything, and re-executes a chapter when results/ changes."""
    import nbformat

    for name in ("06_grid_size_sweep", "09_robustness"):
        nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", 4)
        params = papermill_params(nb)
        assert "source" in params, name
        first = next(c for c in nb.cells if c.cell_type == "code")
        assert 'source = "published"' in first.source, name
    make = (ROOT / "Makefile").read_text()
    book = re.search(r"^book:.*?\n\n", make, re.S | re.M).group(0)
    assert "cliprl_helpers.repro.reproduce status" in book
    assert book.index("reproduce status") < book.index("book-chapters")
    rule = re.search(r"^\$\(BOOK_EXECUTED\)/%.ipynb:.*$", make, re.M).group(0)
    assert "results/manifest.json" in rule and "$(PKG_STAMP)" in rule


def test_notebooks_store_only_the_outputs_nbval_compares():
    """`make store` keeps text outputs of `# NBVAL_CHECK_OUTPUT` cells and nothing else:
    no figures in git, no stale outputs that look like results, no function definitions."""
    import json
    import re

    for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")):
        nb = json.loads(path.read_text())
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "code":
                continue
            src = "".join(cell["source"])
            assert not re.search(r"^\s*def \w+", src, re.M), f"{path.name} cell {i} defines"
            outputs = cell.get("outputs", [])
            if "# NBVAL_CHECK_OUTPUT" not in src:
                assert outputs == [], f"{path.name} cell {i} stores outputs nbval does not check"
            for out in outputs:
                kinds = set(out.get("data", {}))
                assert all(k.startswith("text/") for k in kinds), \
                    f"{path.name} cell {i} stores {kinds - {'text/plain'}}"
