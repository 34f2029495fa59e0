"""The sweep: command line, parameter grids, the Dask engine (local and remote, a worker
killed mid-run), resuming, damaged runs, locking, SIGTERM, Ctrl-C in a terminal, failures.

Every sweep here is the same tiny one (grid 5, 2 trials, two weightings) so that all of them
can be compared with one reference summary: whatever engine, job count or interruption
produced it, the results must be identical in every column but wall time.
"""

import io
import json
import os
import pty
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from cliprl_helpers.core.experiment import METHODS
from cliprl_helpers.repro import registry, runs, sweep

TINY = ["--grid-sizes", "5", "--trials", "2", "--readings", "as_printed",
        "-p", "weighting", "paper", "top1"]
TIMING = ["wall_s"]  # wall-clock seconds: the only column allowed to differ


def _env(artifacts):
    return {**os.environ, "CLIPRL_ARTIFACTS": str(artifacts), "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1"}


def _sweep(out, artifacts, *args, background=False):
    cmd = [sys.executable, "-m", "cliprl_helpers.repro.sweep", *args, "--out", str(out)]
    if background:
        return subprocess.Popen(cmd, env=_env(artifacts), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, env=_env(artifacts), capture_output=True, text=True)


def _summary(out):
    return pd.read_csv(Path(out) / "summary.csv").drop(columns=TIMING)


# --- the command line -----------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["-p", "no_such_param", "1"], "unknown parameter(s) ['no_such_param']"),
    (["-p", "weighting"], "-p weighting needs at least one value"),
    (["-p", "weighting", "nonsense"], "-p weighting 'nonsense': unknown weighting scheme"),
    (["-p", "weighting", "paper", "3"], "-p weighting 3: unknown weighting scheme 3"),
    (["-p", "weighting", "paper", "-p", "weighting", "top1"], "given twice"),
    (["-p", "n_trials", "3"], "have their own options"),
    (["--grid-sizes", "1"], "grid sizes must be an integer >= 4, got 1"),
    (["--grid-sizes", "ten"], "invalid int value"),
    (["--trials", "0"], "--trials must be an integer >= 1, got 0"),
    (["--trials", "many"], "invalid int value"),
    (["--jobs", "0"], "--jobs must be an integer >= 1, got 0"),
    (["--trials-per-run", "0"], "--trials-per-run must be an integer >= 1, got 0"),
    (["--readings", "sideways"], "unknown reading"),
    (["--chapters", "99"], "unknown chapter"),
    (["--chapters", "08", "--grid-sizes", "25"], "not allowed for chapter 08"),
    (["--chapters", "07", "--grid-sizes", "8"], "not allowed for chapter 07: sizes 9.."),
    (["--chapters", "07", "--grid-sizes", "9", "-p", "held_out", "go to the pink cone"],
     "held_out"),
    (["--chapters", "07", "--grid-sizes", "9", "-p", "budget_steps", "-5"], "budget_steps"),
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
    assert not (tmp_path / "artifacts").exists()


def test_out_under_a_file_exits_2_before_anything(tmp_path, capsys):
    f = tmp_path / "a-file"
    f.write_text("x")
    for out in (f, f / "runs"):
        assert sweep.main(["--grid-sizes", "5", "--out", str(out)]) == 2
        assert "is a file" in capsys.readouterr().err
    assert f.read_text() == "x"


def test_help_documents_every_option():
    text = sweep.build_parser().format_help()
    for opt in ("--grid-sizes", "--trials", "--readings", "--jobs", "--out", "--force", "-p",
                "--chapters", "--one-at-a-time", "--scheduler", "--no-figures"):
        assert opt in text


def test_specifications_product_and_one_at_a_time():
    grid = {"weighting": ["paper", "top1"], "budget_steps": [100, 200]}
    defaults = {"weighting": "paper", "budget_steps": 100}
    prod = sweep.specifications(grid, defaults, one_at_a_time=False)
    assert prod == [{}, {"budget_steps": 200}, {"weighting": "top1"},
                    {"budget_steps": 200, "weighting": "top1"}]
    oat = sweep.specifications(grid, defaults, one_at_a_time=True)
    assert oat == [{}, {"weighting": "top1"}, {"budget_steps": 200}]
    assert sweep.spec_name({"weighting": "top1", "budget_steps": 200}) == \
        "budget_steps=200,weighting=top1"
    assert sweep.spec_name({}) == ""


def test_run_folders_are_named_from_their_parameters(tmp_path):
    args = sweep.build_parser().parse_args([*TINY, "--out", str(tmp_path / "r")])
    todo = sweep.plan(args, registry.ROOT)
    assert sorted(str(r.dir.relative_to(tmp_path / "r")) for r in todo) == \
        ["grid-5", "weighting=top1/grid-5"]
    assert all(r.expected_rows == 1 * 2 * len(METHODS) for r in todo)  # readings x trials x methods
    assert not (tmp_path / "r").exists()  # planning writes nothing


def test_trials_per_run_splits_a_size_into_runs_of_consecutive_seeds(tmp_path):
    args = sweep.build_parser().parse_args(
        ["--grid-sizes", "5", "--trials", "5", "--trials-per-run", "2", "--readings",
         "as_printed", "--out", str(tmp_path / "r")])
    todo = sorted(sweep.plan(args, registry.ROOT), key=lambda r: r.first_trial)
    assert [(r.first_trial, r.params["seed"], r.params["n_trials"]) for r in todo] == \
        [(0, 0, 2), (2, 2, 2), (4, 4, 1)]
    assert [r.dir.name for r in todo] == ["trials-0-1", "trials-2-3", "trials-4-4"]
    assert [r.expected_rows for r in todo] == [2 * len(METHODS), 2 * len(METHODS),
                                               len(METHODS)]
    assert "grid 5, trials-2-3" in todo[1].label


def test_the_same_run_of_two_sweeps_has_two_dask_keys(tmp_path):
    """Dask runs one task per key: two sweeps sharing a cluster (the re-stamp's) must not
    hand one sweep's run to the other."""
    plans = [sweep.plan(sweep.build_parser().parse_args([*TINY, "--out", str(tmp_path / d)]),
                        registry.ROOT) for d in ("a", "b")]
    keys = [[sweep.task_key(r, i) for i, r in enumerate(p)] for p in plans]
    assert keys[0][0].startswith("run-0-defaults-ch05-grid-5-") or \
        keys[0][0].startswith("run-0-weighting=top1-ch05-grid-5-")
    assert len(set(keys[0])) == len(keys[0]) and not set(keys[0]) & set(keys[1])


# --- runs on Dask ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny sweep with --jobs 1 and with --jobs 2 (a LocalCluster of two workers; also
    --no-figures, and every trial its own run: --trials-per-run 1), at the same time, in
    other processes, with separate empty caches; while
    the first runs, a second sweep with another parameter tries to write into its folder."""
    tmp = tmp_path_factory.mktemp("sweeps")
    one = _sweep(tmp / "runs1", tmp / "art1", *TINY, "--jobs", "1", background=True)
    two = _sweep(tmp / "runs2", tmp / "art2", *TINY, "--jobs", "2", "--no-figures",
                 "--trials-per-run", "1",
                 background=True)
    deadline = time.time() + 60
    while not list((tmp / "runs1").glob("**/.*.running.ipynb")) and time.time() < deadline:
        time.sleep(0.2)
    intruder = _sweep(tmp / "runs1", tmp / "art1", "--grid-sizes", "5", "--trials", "2",
                      "--readings", "as_printed", "-p", "weighting", "softmax")
    results = []
    for proc in (one, two):
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr[-3000:]
        results.append(subprocess.CompletedProcess(proc.args, 0, stdout, stderr))
    return tmp, results[0], results[1], intruder


def test_parameter_grid_runs_on_a_local_cluster_and_gathers(reference):
    tmp, one, _, _ = reference
    summary = pd.read_csv(tmp / "runs1" / "summary.csv")
    assert len(summary) == 2 * 1 * 2 * len(METHODS)  # specs x readings x trials x methods
    assert set(summary.param_weighting) == {"paper", "top1"}
    assert set(summary[summary.method == "algorithm2"].weighting) == {"paper", "top1"}
    assert "local Dask cluster of 1 worker" in one.stdout and "total wall time" in one.stdout
    assert "IPKernelApp" not in one.stderr, one.stderr[-2000:]  # no kernel log lines
    d = tmp / "runs1" / "weighting=top1" / "grid-5"
    assert json.loads((d / "params.json").read_text())["weighting"] == "top1"
    marker = json.loads((d / "finished.json").read_text())
    assert marker["rows"] == 1 * 2 * len(METHODS) and set(marker["files"]) == {
        "05_clip_transfer.ipynb", "results.csv", "params.json"}
    # each run's wall time, in its marker and in the summary's provenance
    prov = json.loads((tmp / "runs1" / "provenance.json").read_text())
    assert 0 < marker["seconds"] == prov["run_seconds"]["chapter 05, grid 5 (weighting=top1)"]


def test_one_or_two_workers_give_identical_results(reference):
    # ... and each trial computed in its own run: a trial's rows do not depend on the
    # trials beside it (the trial column counts across the runs)
    tmp, _, _, _ = reference
    pd.testing.assert_frame_equal(_summary(tmp / "runs1"), _summary(tmp / "runs2"))
    assert sorted(p.parent.name for p in (tmp / "runs2").glob("grid-5/*/results.csv")) == \
        ["trials-0-0", "trials-1-1"]


def test_no_figures_stores_the_notebooks_without_images(reference):
    tmp, _, _, _ = reference

    def images(runs):
        nb = json.loads(next((runs / "grid-5").glob("**/05_clip_transfer.ipynb")).read_text())
        return sum("image/png" in o.get("data", {}) for c in nb["cells"]
                   for o in c.get("outputs", []))

    assert images(tmp / "runs1") >= 3 and images(tmp / "runs2") == 0


@pytest.mark.parametrize("damage", ["cut at a line", "cut mid-line", "emptied", "edited"])
def test_a_damaged_run_is_not_finished(reference, damage):
    tmp, _, _, _ = reference
    args = sweep.build_parser().parse_args([*TINY, "--out", str(tmp / "runs1")])
    run = [r for r in sweep.plan(args, registry.ROOT)
           if r.spec][0]
    assert runs.check_finished(run) == ""
    csv = run.dir / "results.csv"
    text = csv.read_text()
    try:
        lines = text.splitlines(keepends=True)
        csv.write_text({"cut at a line": "".join(lines[:-5]),
                        "cut mid-line": text[:len(text) // 2],
                        "emptied": "",
                        "edited": text.replace("top1", "paper")}[damage])
        assert "results.csv" in runs.check_finished(run)
        with pytest.warns(runs.RunDamaged, match="redoing"):
            assert not runs.is_finished(run)
    finally:
        csv.write_text(text)
    assert runs.is_finished(run)


def test_a_second_sweep_into_a_locked_folder_exits_2(tmp_path, capsys):
    out = tmp_path / "runs"
    with runs.locked(out / sweep.LOCK, wait=False):  # as a running sweep holds it
        code = sweep.main([*TINY, "--out", str(out)])
    assert code == 2
    assert f"another sweep (pid {os.getpid()}) is writing to {out}" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == [sweep.LOCK]


def test_concurrent_sweeps_into_one_folder_never_mix(reference):
    tmp, _, _, intruder = reference
    assert intruder.returncode == 2, intruder.stderr[-2000:]
    assert "another sweep (pid" in intruder.stderr
    out = tmp / "runs1"
    assert not (out / "weighting=softmax").exists()
    for spec, weighting in (("grid-5", "paper"), ("weighting=top1/grid-5", "top1")):
        d = out / spec
        assert json.loads((d / "params.json").read_text()).get("weighting", "paper") == weighting
        table = pd.read_csv(d / "results.csv")
        assert set(table.query("method == 'algorithm2'").weighting) == {weighting}


def test_sigterm_stops_every_process_and_the_sweep_resumes(reference, tmp_path):
    tmp, _, _, _ = reference
    out, art = tmp_path / "runs", tmp / "art1"  # trained: the notebooks are what runs
    proc = _sweep(out, art, *TINY, "--jobs", "2", background=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list(out.glob("**/.*.running.ipynb")):
        time.sleep(0.2)
    assert list(out.glob("**/.*.running.ipynb")), "no notebook started"
    family = [proc.pid] + [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
    assert len(family) >= 3  # the sweep, its workers, their kernels
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert "Run the same command again to resume" in stderr
    assert "Traceback" not in stderr, stderr[-3000:]
    def alive():
        out = []
        for pid in family:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    out.append(pid)
            except psutil.NoSuchProcess:
                pass
        return out

    deadline = time.time() + 5
    while alive() and time.time() < deadline:
        time.sleep(0.2)
    assert alive() == [], f"processes still running 5 s after SIGTERM: {alive()}"
    for marker in out.glob("**/finished.json"):  # whatever looks finished is whole
        run_dir = marker.parent
        assert (run_dir / "results.csv").is_file()
    again = _sweep(out, art, *TINY, "--jobs", "2")
    assert again.returncode == 0, again.stderr[-2000:]
    pd.testing.assert_frame_equal(_summary(out), _summary(tmp / "runs1"))


#: Seconds a notebook has run before Ctrl-C: by then every worker process waits in its event
#: loop, where SIGINT used to end in a KeyboardInterrupt traceback (pressed while the
#: workers still start, it did not: such a test could not fail).
PRESS_AFTER = 8


def _in_a_terminal_press_ctrl_c(out, artifacts, *args) -> tuple[int, str]:
    """Run a sweep in a pseudo-terminal and, once a notebook runs, press Ctrl-C: the terminal
    sends SIGINT to its whole foreground process group (the sweep, Dask's nannies and
    workers, their kernels). Returns the exit code and everything the terminal showed."""
    cmd = [sys.executable, "-m", "cliprl_helpers.repro.sweep", *args, "--out", str(out)]
    pid, fd = pty.fork()
    if pid == 0:  # the child: a new session whose controlling terminal is the pty
        os.execve(cmd[0], cmd, _env(artifacts))
    shown, pressed, deadline = b"", False, time.time() + 180
    running_since = []

    def started(out):
        if not running_since and list(Path(out).glob("**/.*.running.ipynb")):
            running_since.append(time.time())
        return bool(running_since) and time.time() - running_since[0] > PRESS_AFTER
    while time.time() < deadline:
        if not pressed and started(out):
            os.killpg(os.tcgetpgrp(fd), signal.SIGINT)
            pressed = True
        if select.select([fd], [], [], 0.2)[0]:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the terminal closed: every process on it has exited
                break
            if not data:
                break
            shown += data
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert pressed, "no notebook started"
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def test_ctrl_c_in_a_terminal_stops_without_tracebacks_and_the_sweep_resumes(reference,
                                                                             tmp_path):
    tmp, _, _, _ = reference
    out, art = tmp_path / "runs", tmp / "art1"  # trained: the notebooks are what runs
    code, shown = _in_a_terminal_press_ctrl_c(out, art, *TINY, "--jobs", "2")
    assert code == 128 + signal.SIGINT, shown[-3000:]
    assert "sweep: stopped by SIGINT" in shown and "Run the same command again" in shown
    assert "Traceback" not in shown and "KeyboardInterrupt" not in shown, shown[-3000:]
    again = _sweep(out, art, *TINY, "--jobs", "2")
    assert again.returncode == 0, again.stderr[-2000:]
    pd.testing.assert_frame_equal(_summary(out), _summary(tmp / "runs1"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_remote_scheduler_survives_a_killed_worker(reference, tmp_path):
    """A scheduler and two workers as separate processes on 127.0.0.1; one worker is
    killed while it runs a notebook; its task runs again on the other worker. The sweep
    starts from a damaged copy of the reference (one run cut short, one missing): both are
    redone, and the summary is the reference's."""
    tmp, _, _, _ = reference
    dask = str(Path(sys.executable).parent / "dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = _env(tmp_path / "art")
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        time.sleep(3)
        for _ in range(2):
            procs.append(subprocess.Popen(
                [dask, "worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--host", "127.0.0.1", "--no-dashboard"], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        out = tmp_path / "runs"  # a finished sweep whose defaults run was damaged (cut)
        shutil.copytree(tmp / "runs1", out)  # and whose other run was lost
        shutil.rmtree(out / "weighting=top1")
        csv = out / "grid-5" / "results.csv"
        csv.write_text("".join(csv.read_text().splitlines(keepends=True)[:-5]))
        sw = _sweep(out, tmp_path / "art", *TINY, "--scheduler", address, background=True)
        deadline = time.time() + 120
        while time.time() < deadline and len(list(out.glob("**/.*.running.ipynb"))) < 2:
            time.sleep(0.2)
        assert len(list(out.glob("**/.*.running.ipynb"))) == 2, "both workers should be busy"
        os.killpg(procs[1].pid, signal.SIGKILL)  # a worker (nanny, process, kernel) dies
        stdout, stderr = sw.communicate(timeout=300)
        assert sw.returncode == 0, stderr[-3000:]
        assert "grid-5: results.csv does not match its checksum; redoing" in stderr
        assert f"0 already finished, 2 to run on Dask scheduler {address}" in stdout
        pd.testing.assert_frame_equal(_summary(out), _summary(tmp / "runs1"))
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_failing_run_is_reported_and_never_marked_finished(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")  # the training cache cannot be created under a file
    args = sweep.build_parser().parse_args(["--grid-sizes", "5", "--trials", "1", "--readings",
                                            "as_printed", "--out", str(tmp_path / "runs")])
    root = registry.ROOT
    [run] = sweep.plan(args, root)
    run.artifacts = str(blocker / "art")
    monkeypatch.setenv("CLIPRL_ARTIFACTS", run.artifacts)
    with pytest.raises(RuntimeError, match="chapter 05, grid 5 failed: .*Error"):
        runs.execute(run, root)
    assert not (run.dir / "finished.json").exists() and not (run.dir / "results.csv").exists()
    assert not list(run.dir.glob(".*.running.*"))


def test_a_run_made_by_other_code_is_not_finished(reference):
    tmp, _, _, _ = reference
    args = sweep.build_parser().parse_args([*TINY, "--out", str(tmp / "runs1")])
    run = sweep.plan(args, registry.ROOT)[0]
    assert runs.check_finished(run) == ""
    run.code = "0" * 64
    assert "another version" in runs.check_finished(run)


def test_progress_bars_write_a_line_at_most_every_30_s_into_a_log():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert sweep.progress_interval(io.StringIO()) == sweep.LOG_INTERVAL == 30
    assert sweep.progress_interval(Terminal()) == 0.1
