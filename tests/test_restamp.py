"""cliprl_helpers.repro.restamp: a re-stamp marks a published result current for changed code
only with proof (a recomputed slice identical to the bit), refuses what only a publish may
make, and leaves the manifest alone when a number moved.

The end-to-end test works on a copy of the book's code in a temporary folder (its own
``results/``, a tiny result registered in its registry), run as a reader would run it
(``python -m ...`` in that folder, every process importing the copy): it publishes the tiny
result, makes a pure refactor in ``core`` (stale, then re-stamped), changes one number of the
computing code (the learning rate: the re-stamp fails naming the result, the row and the
column, the manifest unchanged), and changes the recipe (refused before anything runs)."""

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cliprl_helpers.repro import published, registry, reproduce, restamp
from conftest import PROVENANCE, results_table

ROOT = registry.ROOT
TINY = ('\nRESULTS["tiny"] = Result("tiny", "a test result: chapter 5 at 5x5, both readings, '
        'every method, 2 trials", "05", trials=2, sizes=({size},), restamp_trials=1)\n')


def test_the_slice_rule_lives_with_each_recipe():
    r = registry.RESULTS
    assert r["headline"].restamp_overrides() == {"--trials": [1]}
    assert r["ladder"].restamp_trials == 1
    assert r["ladder"].restamp_slice().startswith("trial 0 of every grid size")
    assert r["robustness"].restamp_slice().startswith("trial 0 of every grid size")
    assert registry.Result("x", "", "05", restamp_trials=3).restamp_slice().startswith(
        "trials 0-2 of")
    cmd = reproduce.sweep_command(r["robustness"], Path("/x"), 1, None,
                                  r["robustness"].restamp_overrides())
    assert cmd[cmd.index("--trials") + 1] == "1" and "--one-at-a-time" in cmd


def test_a_current_result_needs_no_restamp_and_a_damaged_one_is_refused(results, monkeypatch):
    monkeypatch.setattr(registry, "RESULTS", {"headline": registry.RESULTS["headline"]})
    stale, lines = restamp.to_restamp(["headline"], results)
    assert stale == [] and lines == ["headline: current already (by its full recompute); "
                                     "nothing to re-stamp"]
    (results / "headline.csv").write_text("grid_size\n8\n")
    with pytest.raises(restamp.Refused, match=r"headline: results/headline.csv is damaged"):
        restamp.to_restamp(["headline"], results)


def test_a_stale_result_with_another_recipe_is_refused(results):
    m = json.loads((results / "manifest.json").read_text())
    m["results"]["headline"]["fingerprint"] = "0" * 64  # computed by other code
    m["results"]["headline"]["state"]["recipe"][1] = "10"  # ... with 10 trials
    m["results"]["headline"]["params"]["n_trials"] = 10
    (results / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(restamp.Refused, match=r"headline: its recipe changed since it was "
                                              r"published \(recipe .*'10'.*'30'.*notebook "
                                              r"parameter n_trials 10 -> 30\)"):
        restamp.to_restamp(["headline"], results)


def test_a_stamp_keeps_the_full_recompute_and_makes_the_result_current(results):
    m = json.loads((results / "manifest.json").read_text())
    m["results"]["headline"]["fingerprint"] = "0" * 64
    (results / "manifest.json").write_text(json.dumps(m))
    assert "is stale" in published.problem("headline", results)
    assert restamp.to_restamp(["headline"], results)[0] == ["headline"]
    c = reproduce.compare("headline", results_table(), results_table())
    restamp.stamp("headline", c, 12.34, results)
    entry = published.manifest(results)["results"]["headline"]
    assert entry["fingerprint"] == "0" * 64  # the full recompute's, kept
    stamp = entry["restamp"]
    assert stamp["rows"] == 18 and stamp["batch_seconds"] == 12.3
    assert stamp["full_recompute"] == {"fingerprint": "0" * 64,
                                       "commit": PROVENANCE["git_commit"],
                                       "date": entry["computed"]}
    assert published.problem("headline", results) == ""
    assert published.currency("headline", results) == "restamp"
    text = published.describe("headline", results)
    assert "re-stamped " + stamp["date"] in text and "by 18 recomputed rows identical" in text
    # a full recompute that finds every row identical supersedes the stamp
    assert "current by this full recompute" in reproduce.mark_recomputed("headline", results)
    entry = published.manifest(results)["results"]["headline"]
    assert "restamp" not in entry and entry["recomputed"]["date"] == stamp["date"]
    assert published.currency("headline", results) == "recompute"


# ---- end to end, on a copy of the code ---------------------------------------------------

def _copy_of_the_book(dest: Path, size: int = 5) -> Path:
    for part in ("cliprl_helpers", "notebooks"):
        shutil.copytree(ROOT / part, dest / part,
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    for f in ("_config.yml", "constraints.txt", "pyproject.toml"):
        shutil.copy2(ROOT / f, dest / f)
    (dest / "results").mkdir()
    registry_py = dest / "cliprl_helpers/repro/registry.py"
    registry_py.write_text(registry_py.read_text() + TINY.format(size=size))
    return dest


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} not found once in {path}"
    path.write_text(text.replace(old, new))


def _cli(book: Path, module: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(book)}  # every process imports the copy
    return subprocess.run([sys.executable, "-m", f"cliprl_helpers.repro.{module}", *args],
                          cwd=book, env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="the reference numerics guarantee the same bits on x86-64 only")
def test_a_restamp_proves_a_refactor_and_refuses_a_changed_number(tmp_path):
    book = _copy_of_the_book(tmp_path / "book")
    manifest = book / "results" / "manifest.json"
    done = _cli(book, "reproduce", "publish", "--only", "tiny", "--jobs", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "published results/tiny.csv (28 rows)" in done.stdout

    done = _cli(book, "restamp", "--only", "tiny", "--jobs", "1")  # nothing changed
    assert done.returncode == 0 and "tiny: current already (by its full recompute)" in \
        done.stdout, done.stdout + done.stderr

    # a pure refactor of core (a parameter renamed): stale, then current by re-stamp
    grid = book / "cliprl_helpers/core/envs.py"
    _edit(grid, "def default_max_steps(size: int) -> int:",
          "def default_max_steps(n: int) -> int:")
    _edit(grid, "    return 4 * size\n\n\ndef _check", "    return 4 * n\n\n\ndef _check")
    status = _cli(book, "reproduce", "status")
    assert status.returncode == 2 and "tiny: NOT CURRENT" in status.stderr
    assert "module core/envs.py changed since it was computed" in status.stderr
    done = _cli(book, "restamp", "--only", "tiny", "--jobs", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tiny: 14 rows compared, 14 identical to the bit" in done.stdout  # trial 0
    entry = json.loads(manifest.read_text())["results"]["tiny"]
    assert entry["restamp"]["rows"] == 14 and entry["restamp"]["slice"].startswith("trial 0 ")
    status = _cli(book, "reproduce", "status")  # (the copy publishes tiny alone)
    tiny = next(line for line in status.stderr.splitlines() if line.startswith("tiny:"))
    assert tiny.startswith("tiny: current:"), status.stderr
    assert "by 14 recomputed rows identical to the bit" in tiny
    before = manifest.read_bytes()

    # one number of the computing code changed: the re-stamp fails and says where
    dqn = book / "cliprl_helpers/core/dqn.py"
    _edit(dqn, "    learning_rate: float = 1e-2\n", "    learning_rate: float = 2e-2\n")
    done = _cli(book, "restamp", "--only", "tiny", "--jobs", "1")
    print(done.stdout)
    assert done.returncode == 1
    assert "tiny: 14 rows compared, " in done.stdout and " rows differ:" in done.stdout
    assert "steps_to_converge:" in done.stdout  # the column, then the rows' keys
    assert re.search(r"target_reading +grid_size +trial +method +column +published +"
                     r"recomputed\n +as_printed +5 +0 ", done.stdout)
    assert "tiny differ(s) from the published rows (above): the manifest is unchanged" in \
        done.stdout
    assert manifest.read_bytes() == before
    _edit(dqn, "    learning_rate: float = 2e-2\n", "    learning_rate: float = 1e-2\n")

    # a changed recipe is a new result: refused before anything is trained
    _edit(book / "cliprl_helpers/repro/registry.py", "sizes=(5,)", "sizes=(6,)")
    runs_before = sorted((book / "runs").rglob("finished.json"))
    done = _cli(book, "restamp", "--only", "tiny", "--jobs", "1")
    assert done.returncode == 2
    assert "cannot re-stamp tiny: its recipe changed since it was published" in done.stderr
    assert "`make publish ONLY=tiny`" in done.stderr
    assert manifest.read_bytes() == before
    assert sorted((book / "runs").rglob("finished.json")) == runs_before
