"""Provenance: what this process records about how it computes."""

import subprocess

from cliprl_helpers.core import numerics
from cliprl_helpers.repro import provenance


def test_provenance_says_how_numbers_are_made():
    p = provenance.provenance()
    assert p["numerics"] == "reference" and p["threads"] == 1
    assert p["trainer_version"] >= 4 and p["torch"].startswith("2.13.0")
    assert p["kernel_path"]["aten_capability"] == "DEFAULT"
    assert p["cache_tag"] == ("reference-2" if numerics.guaranteed() else p["cache_tag"])
    assert "X86_V4" not in p["kernel_path"]["numpy_dispatch"]
    assert "reference numerics" in p["description"]
    assert p["git_commit"] is None or len(p["git_commit"].split("-")[0]) == 40


def test_a_commit_is_dirty_when_code_changed_but_not_when_only_results_did(tmp_path):
    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                       cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "table.csv").write_text("a\n1\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "start")
    clean = provenance.git_commit(tmp_path)
    assert len(clean) == 40
    (tmp_path / "results" / "table.csv").write_text("a\n2\n")  # a publish wrote its table
    assert provenance.git_commit(tmp_path) == clean
    (tmp_path / "code.py").write_text("x = 2\n")
    assert provenance.git_commit(tmp_path) == clean + "-dirty"
