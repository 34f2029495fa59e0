"""The package as a whole: three layers whose imports go one way (import-linter's contracts,
which fail on a deliberate violation), no import inside a function without its reason, modules
of one idea and a readable length, a core that names no chapter."""

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cliprl_helpers"
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
                          cwd=root, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(root), "PATH": str(LINT.parent)})


def test_the_layers_and_no_cycles_hold():
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "2 kept, 0 broken" in done.stdout


@pytest.mark.parametrize("module, line, broken", [
    ("core/grid.py", "from ..repro import published", "core <- analysis <- repro"),
    ("analysis/stats.py", "from ..repro import registry", "core <- analysis <- repro"),
    ("core/dqn.py", "from . import experiment", "no import cycle"),
])
def test_a_deliberate_violation_breaks_a_contract(tmp_path, module, line, broken):
    shutil.copytree(PACKAGE, tmp_path / "cliprl_helpers",
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(tmp_path / "cliprl_helpers" / module, "a") as f:
        f.write(f"\n{line}  # deliberate\n")
    done = _lint(tmp_path)
    assert done.returncode == 1
    assert re.search(re.escape(broken) + r".*BROKEN", done.stdout), done.stdout[-2000:]


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_import_inside_a_function_says_why():
    unexplained = []
    for path in _modules():
        lines = path.read_text().splitlines()
        for fn in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    # the reason: on the line, or atop the block of imports it belongs to
                    i = node.lineno - 1
                    while i > 0 and "# lazy: " not in lines[i] and \
                            lines[i - 1].strip().startswith(("import ", "from ", "#")):
                        i -= 1
                    if "# lazy: " not in lines[i]:
                        unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not unexplained, unexplained


def test_modules_stay_readable():
    long = {str(p.relative_to(PACKAGE)): n for p in _modules()
            if (n := len(p.read_text().splitlines())) > 470}
    assert not long, long


def test_core_names_no_chapter_sweep_or_published_result():
    pattern = re.compile(r"chapter|\bch\.? ?\d|results/|\bsweep|\bpublished\b", re.I)
    hits = [f"{p.name}:{i}: {line.strip()}" for p in sorted((PACKAGE / "core").glob("*.py"))
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not hits, hits


def test_importing_the_package_registers_both_environments():
    done = subprocess.run([sys.executable, "-c", "import gymnasium, cliprl_helpers as c; "
                           "print(c.ENV_ID in gymnasium.registry, "
                           "c.ROOM_ENV_ID in gymnasium.registry)"],
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["True", "True"], done.stderr[-2000:]
