"""The code fingerprint: what counts as a change, the same under every supported Python, and
library versions from the lock."""

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cliprl_helpers.repro import codeprint

ROOT = Path(__file__).resolve().parents[1]
SUPPORTED = ((3, 11), (3, 12), (3, 13))


def test_docstrings_comments_and_layout_do_not_count_code_does():
    a = 'def f(x):\n    """Doc."""\n    return x + 1  # one\n'
    b = "def f(x):\n\n    return (x +\n            1)\n"
    c = "def f(x):\n    return x + 2\n"
    assert codeprint.source_hash(a) == codeprint.source_hash(b)
    assert codeprint.source_hash(a) != codeprint.source_hash(c)
    # source that does not parse (a notebook's %magic) is hashed as text
    assert codeprint.source_hash("%time x") != codeprint.source_hash("%time y")


def test_tree_text_leaves_out_empty_fields_and_positions():
    import ast

    assert codeprint.tree_text(ast.parse("f(1)")) == (
        "Module(body=[Expr(value=Call(func=Name(id='f', ctx=Load()), "
        "args=[Constant(value=1)]))])")


def other_pythons() -> list[str]:
    """Installed interpreters of the other supported versions (pyenv's included)."""
    found = {}
    here = sys.version_info[:2]
    for major, minor in SUPPORTED:
        if (major, minor) == here:
            continue
        candidates = [f"python{major}.{minor}"] + sorted(glob.glob(os.path.expanduser(
            f"~/.pyenv/versions/{major}.{minor}*/bin/python{major}.{minor}")))
        for c in candidates:
            try:
                done = subprocess.run([c, "-c", "import sys; print(sys.version_info[:2])"],
                                      capture_output=True, text=True, timeout=30)
            except (OSError, subprocess.SubprocessError):
                continue
            if done.returncode == 0 and done.stdout.strip() == str((major, minor)):
                found[(major, minor)] = c
                break
    return list(found.values())


# codeprint needs only the standard library: load it from its file, without the package
# (whose dependencies another Python does not have)
PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("codeprint", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
nbs = sorted(m.PACKAGE.parent.glob("notebooks/*.ipynb"))
print(json.dumps({"modules": m.module_hashes(), "libraries": m.library_versions(),
                  "notebooks": {p.name: m.notebook_hash(p) for p in nbs}}))
"""


def test_the_code_fingerprint_is_the_same_under_every_installed_supported_python():
    pythons = other_pythons()
    if not pythons:
        pytest.skip("no other supported Python (3.11-3.13) is installed here")
    here = {"modules": codeprint.module_hashes(), "libraries": codeprint.library_versions(),
            "notebooks": {p.name: codeprint.notebook_hash(p)
                          for p in sorted((ROOT / "notebooks").glob("*.ipynb"))}}
    assert len(here["modules"]) > 10 and len(here["notebooks"]) >= 9
    for py in pythons:
        done = subprocess.run([py, "-c", PROBE, str(Path(codeprint.__file__))],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout) == here, f"{py} computes another code fingerprint"


def test_library_versions_come_from_the_lock_and_are_the_installed_ones(tmp_path):
    libs = codeprint.library_versions()
    assert set(libs) == set(codeprint.LIBRARIES)
    assert libs["torch"] == "2.13.0" and libs["numpy"] == "2.4.6"
    assert codeprint.installed_mismatches() == []
    lock = tmp_path / "lock.txt"
    lock.write_text("# a lock\nnumpy==2.4.6 ; python_full_version < '3.12'\n    # via x\n"
                    "numpy==2.5.0 ; python_full_version >= '3.12'\nTorch==9.9.9\n")
    assert codeprint.locked_versions(lock) == {"numpy": ["2.4.6", "2.5.0"], "torch": ["9.9.9"]}
    with pytest.raises(ValueError, match="pins numpy to 2.4.6 and 2.5.0"):
        codeprint.library_versions(lock)
    lock.write_text("torch==9.9.9\n")
    got = codeprint.library_versions(lock)
    assert got["torch"] == "9.9.9" and got["numpy"] == "unlocked"
    assert "torch 2.13.0 installed, 9.9.9 locked" in codeprint.installed_mismatches(lock)
    with pytest.raises(ValueError, match="make lock"):
        codeprint.locked_versions(tmp_path / "absent.txt")


def test_changes_name_what_moved():
    old = {"modules": {"dqn.py": "a", "gone.py": "b"}, "libraries": {"torch": "2.13.0"}}
    new = {"modules": {"dqn.py": "c", "new.py": "d"}, "libraries": {"torch": "2.14.0"}}
    assert codeprint.changes(old, new) == ["torch 2.13.0 -> 2.14.0", "module dqn.py changed",
                                           "module gone.py removed", "module new.py added"]
    assert codeprint.fingerprint(old) != codeprint.fingerprint(new)
    assert codeprint.fingerprint(old) == codeprint.fingerprint(json.loads(json.dumps(old)))
