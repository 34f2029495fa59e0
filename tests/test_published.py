"""cliprl_helpers.repro.published and codeprint: published results are validated, never shown stale,
and compared to the bit."""

import json

import pandas as pd
import pytest

from cliprl_helpers.repro import codeprint, published

PROVENANCE = {"guaranteed": True, "numerics": ["reference"], "cpus": ["Test CPU"],
              "git_commit": "0123456789abcdef", "description": "reference numerics"}


def _table(trials=3, steps=None):
    rows = []
    for t in range(trials):
        for m, base in (("algorithm1", 1000), ("algorithm2", 1500), ("scratch", 3000)):
            for reading in ("as_printed", "self_consistent"):
                rows.append({"grid_size": 8, "target_reading": reading, "trial": t, "method": m,
                             "initial_fraction": 0.1 + t / 3, "steps_to_converge": base + 128 * t,
                             "censored": False, "resolution": 128, "wall_s": 0.5 + t})
    table = pd.DataFrame(rows)
    if steps is not None:
        table.loc[0, "steps_to_converge"] = steps
    return table


@pytest.fixture
def results(tmp_path):
    published.write("headline", _table(), PROVENANCE, results_dir=tmp_path)
    return tmp_path


def test_a_published_result_loads_without_its_wall_clock_and_with_it_on_request(results):
    table = published.load("headline", results)
    assert "wall_s" not in table and len(table) == 18
    timed = published.load("headline", results, timing=True)
    assert timed.set_index(["target_reading", "trial", "method"]).wall_s.loc[
        ("as_printed", 2, "scratch")] == 2.5
    entry = published.manifest(results)["results"]["headline"]
    assert entry["rows"] == 18 and entry["fingerprint"] == codeprint.fingerprint(
        published.RESULTS["headline"].state())
    assert entry["params"]["n_trials"] == 30  # the recipe's trials, the notebook's other defaults


def test_a_damaged_file_is_refused_with_the_command_that_recomputes_it(results):
    path = results / "headline.csv"
    path.write_text(path.read_text().replace("1000", "1001", 1))
    with pytest.raises(published.StaleResult, match=r"damaged.*make reproduce"):
        published.load("headline", results)
    path.unlink()
    assert published.problem("headline", results) == "results/headline.csv is missing"


def test_a_result_made_by_other_code_is_stale_and_says_what_changed(results, monkeypatch):
    hashes = codeprint.module_hashes()
    monkeypatch.setattr(codeprint, "module_hashes", lambda: {**hashes, "core/dqn.py": "0" * 64})
    why = published.problem("headline", results)
    assert "stale" in why and "module core/dqn.py changed" in why
    with pytest.raises(ValueError, match="make publish"):
        published.load("headline", results)
    assert published.problem("ch07", results) == "results/ch07.csv is not published yet"


def test_a_broken_manifest_is_refused(results):
    (results / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="damaged"):
        published.load("headline", results)


def test_docstrings_comments_and_formatting_do_not_change_a_fingerprint_code_does():
    a = 'def f(x):\n    """Doc."""\n    return x + 1\n'
    b = '# a comment\ndef f(x):\n    """Other doc, longer."""\n\n    return (x +\n            1)\n'
    c = 'def f(x):\n    """Doc."""\n    return x + 2\n'
    assert codeprint.source_hash(a) == codeprint.source_hash(b) != codeprint.source_hash(c)
    assert codeprint.changes({"libraries": {"torch": "2.13.0"}, "modules": {"a.py": "1"}},
                             {"libraries": {"torch": "2.14.0"}, "modules": {"a.py": "2"}}) \
        == ["torch 2.13.0 -> 2.14.0", "module a.py changed"]
    assert "analysis/stats.py" not in codeprint.module_hashes()  # analysis only
    assert "core/dqn.py" in codeprint.module_hashes()


def test_identical_rows_compare_identical_in_any_order_and_a_changed_cell_is_reported():
    pub = _table()
    same = published.compare("headline", pub, pub.sample(frac=1, random_state=0))
    assert same.ok and same.identical == same.rows == 18
    other = published.compare("headline", pub, _table(steps=1408))
    assert not other.ok and other.identical == 17
    report = other.report()
    assert "1 rows differ" in report and "steps_to_converge" in report
    assert "largest change a factor 1.41" in report
    fewer = published.compare("headline", pub, pub.iloc[:-1])
    assert not fewer.ok and "row counts differ" in fewer.note


def test_a_floats_last_bit_counts():
    pub = _table()
    new = pub.copy()
    new.loc[3, "initial_fraction"] = float.fromhex(new.loc[3, "initial_fraction"].hex()) \
        + 2 ** -52
    assert not published.compare("headline", pub, new).ok


def test_verify_compares_a_chapters_rows_with_the_matching_published_ones(results):
    mine = _table(trials=2)
    assert "12 rows compared, 12 identical" in published.verify("headline", mine, results)
    changed = _table(trials=2, steps=999)
    assert "11 identical" in published.verify("headline", changed, results)


def test_or_compute_shows_published_rows_only_for_their_parameters(results, capsys):
    params = published.published_params("headline", results)
    calls = []

    def compute(**kw):
        calls.append(kw)
        return pd.DataFrame({"setting": ["x"]})

    rows = published.or_compute("headline", params, "published", compute, results_dir=results)
    assert len(rows()) == 18 and not calls
    assert "showing the published results/headline.csv" in capsys.readouterr().out
    other = published.or_compute("headline", {**params, "n_trials": 2}, "published", compute,
                                 results_dir=results)
    other(setting="x")
    assert calls == [{"setting": "x"}]
    assert "n_trials = 2 (published: 30)" in capsys.readouterr().out
    published.or_compute("headline", params, "compute", compute, results_dir=results)()
    assert len(calls) == 2
    with pytest.raises(ValueError, match="unknown source .cached.: allowed are published, compute"):
        published.or_compute("headline", params, "cached", compute, results_dir=results)


def test_rows_of_a_setting_come_once(results):
    table = pd.concat([_table().assign(setting="a")] * 2 + [_table().assign(setting="b")])
    published.write("ch08", table, PROVENANCE, results_dir=results)
    run = published.or_compute("ch08", published.published_params("ch08", results), "published",
                               None, by="setting", results_dir=results)
    assert len(run(setting="a")) == 18
    with pytest.raises(ValueError, match="no rows with setting = 'c'"):
        run(setting="c")


def test_a_reference_result_needs_reference_numerics(tmp_path):
    with pytest.raises(ValueError, match="reference numerics"):
        published.write("headline", _table(), {"guaranteed": False, "description": "native"},
                        results_dir=tmp_path)
    published.write("native", _table(), {"guaranteed": False}, results_dir=tmp_path)


def test_the_recipes_are_the_books(tmp_path):
    r = published.RESULTS
    assert r["headline"].args()[:2] == ["--trials", "30"]
    assert "--one-at-a-time" in r["robustness"].args() and "--out" not in r["robustness"].args()
    assert r["native"].numerics == "native" and not r["native"].exact
    ch07 = r["ch07"].args()
    assert ch07[:2] == ["--chapters", "07"] and "--no-figures" in ch07
    cmd = published.sweep_command(r["headline"], tmp_path, 2, None,
                                  overrides={"--grid-sizes": [8], "--trials": [5]})
    assert cmd[cmd.index("--grid-sizes"):cmd.index("--grid-sizes") + 3] == \
        ["--grid-sizes", "8", "--no-figures"]
    assert cmd[cmd.index("--trials") + 1] == "5"
    assert published.sweep_command(r["native"], tmp_path, 2, "tcp://x:1")[-2:] == ["--jobs", "2"]


def test_status_exits_2_and_names_the_commands_when_results_are_missing(tmp_path, monkeypatch,
                                                                        capsys):
    monkeypatch.setattr(published, "RESULTS_DIR", tmp_path)
    monkeypatch.setattr(published.status_report, "__defaults__", (tmp_path,))
    assert published.main(["status"]) == 2
    err = capsys.readouterr().err
    assert "NOT CURRENT" in err and "make reproduce" in err and "make publish" in err


def test_bad_command_lines_exit_2(capsys):
    for argv in (["reproduce", "--only", "nope"], ["publish", "--jobs", "0"], ["frobnicate"]):
        with pytest.raises(SystemExit) as e:
            published.main(argv)
        assert e.value.code == 2
    assert "allowed are headline" in capsys.readouterr().err


def test_the_committed_manifest_is_well_formed():
    data = json.loads((published.RESULTS_DIR / "manifest.json").read_text())
    assert data["format"] == published.FORMAT
    assert set(data["results"]) == set(published.RESULTS)
    for name, entry in data["results"].items():
        assert entry["file"] == f"{name}.csv" and "wall_s" not in entry["columns"]
        assert entry["provenance"]["guaranteed"] is published.RESULTS[name].exact


def test_verify_refuses_rows_keyed_differently(results):
    mine = _table(trials=1).assign(param_weighting="paper")
    assert "not comparable" in published.verify("headline", mine, results)


def test_reproduce_reports_every_table_and_fails_only_on_a_reference_difference(
        results, monkeypatch, capsys):
    """The command's logic, with the sweeps replaced by tables: identical rows pass, a changed
    reference row fails with exit 1, a changed native-kernels row is reported apart."""
    published.write("native", _table(), {"guaranteed": False}, results_dir=results)
    monkeypatch.setattr(published, "RESULTS_DIR", results)
    recomputed = {"headline": _table(), "native": _table()}
    monkeypatch.setattr(published, "recompute",
                        lambda name, *a, **k: recomputed[name].astype(str))
    monkeypatch.setattr(published, "recompute_together",
                        lambda names, work: {n: recomputed[n].astype(str) for n in names})
    work = ["--work", str(results / "work")]
    assert published.main(["reproduce", "--only", "headline", "native", *work]) == 0
    out = capsys.readouterr().out
    assert "headline: 18 of 18 rows identical to the bit" in out
    recomputed["native"] = _table(steps=999)
    assert published.main(["reproduce", "--only", "headline", "native", *work]) == 0
    out = capsys.readouterr().out
    assert "native: 17 of 18 rows identical to the bit (native kernels" in out
    recomputed["headline"] = _table(steps=999)
    assert published.main(["reproduce", "--only", "headline", *work]) == 1
    captured = capsys.readouterr()
    assert "1 rows differ" in captured.out and "some published rows differ" in captured.err
