"""cliprl_helpers.repro.reproduce: writing published results, the recipes, the command line."""

import json

import pytest

from cliprl_helpers.repro import published, registry, reproduce
from conftest import results_table


def test_a_reference_result_needs_reference_numerics(tmp_path):
    with pytest.raises(ValueError, match="reference numerics"):
        reproduce.write("headline", results_table(), {"guaranteed": False, "description": "native"},
                        results_dir=tmp_path)
    reproduce.write("native", results_table(), {"guaranteed": False}, results_dir=tmp_path)


def test_the_recipes_are_the_books(tmp_path):
    r = registry.RESULTS
    assert r["headline"].args()[:2] == ["--trials", "30"]
    assert "--one-at-a-time" in r["robustness"].args() and "--out" not in r["robustness"].args()
    assert r["native"].numerics == "native" and not r["native"].exact
    ch07 = r["ch07"].args()
    assert ch07[:2] == ["--chapters", "07"] and "--no-figures" in ch07
    cmd = reproduce.sweep_command(r["headline"], tmp_path, 2, None,
                                  overrides={"--grid-sizes": [8], "--trials": [5]})
    assert cmd[cmd.index("--grid-sizes"):cmd.index("--grid-sizes") + 3] == \
        ["--grid-sizes", "8", "--no-figures"]
    assert cmd[cmd.index("--trials") + 1] == "5"
    assert reproduce.sweep_command(r["native"], tmp_path, 2, "tcp://x:1")[-2:] == ["--jobs", "2"]


def test_status_exits_2_and_names_the_commands_when_results_are_missing(tmp_path, monkeypatch,
                                                                        capsys):
    monkeypatch.setattr(reproduce, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(reproduce.status_report, "__defaults__", (tmp_path,))
    assert reproduce.main(["status"]) == 2
    err = capsys.readouterr().err
    assert "NOT CURRENT" in err and "make reproduce" in err and "make publish" in err


def test_bad_command_lines_exit_2(capsys):
    for argv in (["reproduce", "--only", "nope"], ["publish", "--jobs", "0"], ["frobnicate"]):
        with pytest.raises(SystemExit) as e:
            reproduce.main(argv)
        assert e.value.code == 2
    assert "allowed are headline" in capsys.readouterr().err


def test_the_committed_manifest_is_well_formed():
    data = json.loads((registry.RESULTS_DIR / "manifest.json").read_text())
    assert data["format"] == published.FORMAT
    assert set(data["results"]) == set(registry.RESULTS)
    for name, entry in data["results"].items():
        assert entry["file"] == f"{name}.csv" and "wall_s" not in entry["columns"]
        assert entry["provenance"]["guaranteed"] is registry.RESULTS[name].exact


def test_reproduce_reports_every_table_and_fails_only_on_a_reference_difference(
        results, monkeypatch, capsys):
    """The command's logic, with the sweeps replaced by tables: identical rows pass, a changed
    reference row fails with exit 1, a changed native-kernels row is reported apart."""
    reproduce.write("native", results_table(), {"guaranteed": False}, results_dir=results)
    monkeypatch.setattr(reproduce, "RESULTS_DIR", results)
    recomputed = {"headline": results_table(), "native": results_table()}
    monkeypatch.setattr(reproduce, "recompute",
                        lambda name, *a, **k: recomputed[name].astype(str))
    monkeypatch.setattr(reproduce, "recompute_together",
                        lambda names, work: {n: recomputed[n].astype(str) for n in names})
    work = ["--work", str(results / "work")]
    assert reproduce.main(["reproduce", "--only", "headline", "native", *work]) == 0
    out = capsys.readouterr().out
    assert "headline: 18 of 18 rows identical to the bit" in out
    recomputed["native"] = results_table(steps=999)
    assert reproduce.main(["reproduce", "--only", "headline", "native", *work]) == 0
    out = capsys.readouterr().out
    assert "native: 17 of 18 rows identical to the bit (native kernels" in out
    recomputed["headline"] = results_table(steps=999)
    assert reproduce.main(["reproduce", "--only", "headline", *work]) == 1
    captured = capsys.readouterr()
    assert "1 rows differ" in captured.out and "some published rows differ" in captured.err


def test_a_results_notebook_parameters_include_its_recipes_fixed_ones():
    params = reproduce.notebook_params(registry.LADDER)
    assert params["budget_growth"] == "cells" and params["n_trials"] == 10
    assert params["methods"] == list(registry.LADDER_METHODS)
    assert reproduce.notebook_params(registry.RESULTS["headline"])["budget_growth"] == "none"
