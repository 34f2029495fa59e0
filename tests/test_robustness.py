"""The robustness study's command line: a bad choice exits 2 naming the allowed ones, before
any run; a good one hands the sweep the study's arguments."""

import subprocess
import sys

from cliprl_helpers.repro import robustness


def test_an_unknown_choice_exits_2_before_any_run(tmp_path):
    done = subprocess.run([sys.executable, "-m", "cliprl_helpers.repro.robustness",
                           "--choices", "epsilon", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "unknown choice(s) ['epsilon']" in done.stderr
    assert not (tmp_path / "out").exists()


def test_the_sweep_gets_the_study(monkeypatch, tmp_path):
    called = []
    monkeypatch.setattr(robustness.subprocess, "call", lambda cmd: called.append(cmd) or 0)
    assert robustness.main(["--out", str(tmp_path), "--trials", "2", "--grid-sizes", "8",
                            "--choices", "align_bias"]) == 0
    [cmd] = called
    assert cmd[1:3] == ["-m", "cliprl_helpers.repro.sweep"]
    assert cmd[3:] == ["--out", str(tmp_path), "--trials", "2", "--grid-sizes", "8",
                       "--one-at-a-time", "--no-figures", "--jobs", "2", "-p", "align_bias",
                       "false"]
