"""The papermill sweep: its command line, resuming, gathering, failures."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from cliprl_helpers import sweep


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cliprl_helpers.sweep", *args],
                          capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("args, message", [
    (["-p", "no_such_param", "1"], "unknown parameter"),
    (["--grid-sizes", "1"], "too small"),
    (["--grid-sizes", "ten"], "invalid int value"),
    (["--trials", "many"], "invalid int value"),
    (["--readings", "sideways"], "unknown reading"),
    (["--chapters", "99"], "unknown chapter"),
    (["--chapters", "08", "--grid-sizes", "25"], "not allowed for chapter 08"),
])
def test_bad_command_lines_exit_2_and_write_nothing(tmp_path, capsys, args, message):
    out = tmp_path / "runs"
    try:
        code = sweep.main([*args, "--out", str(out)])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_out_path_that_is_a_file_exits_2(tmp_path):
    f = tmp_path / "a-file"
    f.write_text("x")
    r = _run("--out", str(f))
    assert r.returncode == 2 and "is a file" in r.stderr
    assert f.read_text() == "x"


def test_help_documents_every_option():
    r = _run("--help")
    assert r.returncode == 0
    for opt in ("--grid-sizes", "--trials", "--readings", "--jobs", "--out", "--force", "-p",
                "--chapters"):
        assert opt in r.stdout


def _sweep(out, artifacts, jobs):
    env = {**os.environ, "CLIPRL_ARTIFACTS": str(artifacts)}
    args = ["--grid-sizes", "5", "6", "--trials", "2", "--jobs", str(jobs), "--out", str(out)]
    return args, env, subprocess.run([sys.executable, "-m", "cliprl_helpers.sweep", *args],
                                     capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def two_sweeps(tmp_path_factory):
    """The same tiny sweep twice, in other processes, with --jobs 1 and 2 and separate
    caches (so the second trains everything again)."""
    tmp = tmp_path_factory.mktemp("sweeps")
    one = _sweep(tmp / "runs1", tmp / "art1", 1)
    two = _sweep(tmp / "runs2", tmp / "art2", 2)
    return tmp, one, two


def test_small_sweep_runs_resumes_and_gathers(two_sweeps):
    tmp, (args, env, r), _ = two_sweeps
    out = tmp / "runs1"
    assert r.returncode == 0, r.stderr[-2000:]
    d = out / "grid-5"
    assert (d / "05_clip_transfer.ipynb").is_file()
    assert json.loads((d / "params.json").read_text())["n_trials"] == 2
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 2 * 2 * 2 * 4  # sizes x readings x trials x methods
    assert set(summary.method) == {"scratch", "algorithm1", "algorithm2", "oracle"}
    assert "total wall time" in r.stdout
    again = subprocess.run([sys.executable, "-m", "cliprl_helpers.sweep", *args],
                           capture_output=True, text=True, env=env)
    assert again.returncode == 0 and "2 already finished, 0 to run" in again.stdout
    # a different parameter is not "finished"
    assert not sweep.is_finished({"dir": d, "notebook": d / "05_clip_transfer.ipynb",
                                  "params": {"n_trials": 3}})


def test_same_results_with_one_or_two_jobs_in_other_processes(two_sweeps):
    tmp, (_, _, r1), (_, _, r2) = two_sweeps
    assert r1.returncode == 0 and r2.returncode == 0, r2.stderr[-2000:]
    a, b = (pd.read_csv(tmp / d / "summary.csv") for d in ("runs1", "runs2"))
    assert list(a.columns) == list(b.columns)
    timing = ["wall_s"]  # wall-clock seconds: the only column allowed to differ
    pd.testing.assert_frame_equal(a.drop(columns=timing), b.drop(columns=timing))
    assert (a.steps_to_converge > 0).any()


def test_failing_notebook_exits_nonzero_and_names_it(tmp_path):
    out = tmp_path / "runs"
    r = _run("--grid-sizes", "5", "--trials", "1", "--readings", "as_printed", "--out",
             str(out), "-p", "weighting", "nonsense")
    assert r.returncode == 1
    failed = out / "grid-5" / "05_clip_transfer.failed.ipynb"
    assert str(failed) in r.stderr and failed.is_file()
    assert not (out / "grid-5" / "results.csv").exists()
