"""One run of the sweep: a run folder counts as finished only while its marker, files,
parameters, code and numerics all agree; anything else is redone, with a warning."""

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from cliprl_helpers.core.numerics import cache_tag
from cliprl_helpers.repro import runs

ROOT = Path(__file__).resolve().parents[1]


def _finished_run(tmp_path) -> runs.Run:
    """A run folder laid out by hand as :func:`runs.execute` leaves it."""
    run = runs.Run(chapter="05", notebook=ROOT / "notebooks" / "05_clip_transfer.ipynb",
                   dir=tmp_path / "grid-8", params={"grid_size": 8, "n_trials": 1},
                   expected_rows=2, code="abc")
    run.dir.mkdir()
    (run.dir / run.notebook.name).write_text("{}")
    pd.DataFrame({"grid_size": [8, 8], "trial": [0, 0], "method": ["scratch", "oracle"],
                  "steps_to_converge": [100, 50], "censored": [False, False]}) \
        .to_csv(run.dir / "results.csv", index=False)
    (run.dir / "params.json").write_text(json.dumps(run.params))
    files = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in run.files()}
    (run.dir / runs.MARKER).write_text(json.dumps({
        "params": run.params, "rows": 2, "code": "abc", "files": files,
        "numerics": {"numerics": "reference", "cache_tag": cache_tag()}}))
    return run


def test_a_whole_run_is_finished(tmp_path):
    run = _finished_run(tmp_path)
    assert runs.check_finished(run) == "" and runs.is_finished(run)
    assert runs.run_numerics(run)["cache_tag"] == cache_tag()
    assert runs.run_seconds(run) is None  # a marker from before runs recorded their time
    marker = json.loads((run.dir / runs.MARKER).read_text())
    (run.dir / runs.MARKER).write_text(json.dumps({**marker, "seconds": 12.5}))
    assert runs.run_seconds(run) == 12.5 and runs.is_finished(run)


@pytest.mark.parametrize("change, why", [
    (lambda r: (r.dir / "results.csv").write_text("grid_size\n8\n"),
     "results.csv does not match its checksum"),
    (lambda r: (r.dir / "params.json").unlink(), "params.json is missing"),
    (lambda r: setattr(r, "code", "other"), "made by another version of the package"),
    (lambda r: r.params.update(n_trials=2), "its parameters differ"),
    (lambda r: setattr(r, "numerics", "native"), "computed in reference numerics, native asked"),
    (lambda r: (r.dir / runs.MARKER).write_text("{"), "is damaged"),
])
def test_anything_that_disagrees_is_not_finished_and_warns(tmp_path, change, why):
    run = _finished_run(tmp_path)
    change(run)
    assert why in runs.check_finished(run)
    with pytest.warns(runs.RunDamaged, match="redoing this run"):
        assert not runs.is_finished(run)


def test_a_run_never_started_is_not_finished_without_a_warning(tmp_path, recwarn):
    run = _finished_run(tmp_path)
    (run.dir / runs.MARKER).unlink()
    assert runs.check_finished(run) == "not run" and not runs.is_finished(run)
    assert not [w for w in recwarn if issubclass(w.category, runs.RunDamaged)]


def test_a_results_table_of_another_size_or_shape_is_refused(tmp_path):
    run = _finished_run(tmp_path)
    pd.DataFrame({"grid_size": [10]}).to_csv(tmp_path / "t.csv", index=False)
    assert "lacks columns" in runs.table_problem(tmp_path / "t.csv", run)
    pd.read_csv(run.dir / "results.csv").assign(grid_size=10).to_csv(tmp_path / "t.csv",
                                                                     index=False)
    assert runs.table_problem(tmp_path / "t.csv", run) == "t.csv holds grid sizes [10]"


def test_a_label_says_what_it_names_and_parses_back(tmp_path):
    run = runs.Run(chapter="05", notebook=ROOT / "notebooks" / "05_clip_transfer.ipynb",
                   dir=tmp_path / "grid-50" / "trials-3-3", params={"grid_size": 50},
                   spec={"budget_growth": "cells"}, first_trial=3)
    assert run.label == "chapter 05, grid 50, trials-3-3 (budget_growth=cells)"
    assert runs.Run.parse_label(run.label) == {
        "chapter": "05", "grid_size": 50, "first_trial": 3, "last_trial": 3,
        "spec": "budget_growth=cells"}
    whole = runs.Run(chapter="07", notebook=run.notebook, dir=tmp_path / "grid-9",
                     params={"grid_size": 9})
    assert runs.Run.parse_label(whole.label) == {
        "chapter": "07", "grid_size": 9, "first_trial": None, "last_trial": None,
        "spec": ""}
    with pytest.raises(ValueError, match="not a run label: 'grid 9'"):
        runs.Run.parse_label("grid 9")
