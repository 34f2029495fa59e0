"""cliprl_helpers.repro.published and codeprint: published results are validated, never shown stale,
and compared to the bit."""


import pandas as pd
import pytest

from cliprl_helpers.repro import codeprint, published, registry, reproduce
from conftest import PROVENANCE, results_table


def test_a_published_result_loads_without_its_wall_clock_and_with_it_on_request(results):
    table = published.load("headline", results)
    assert "wall_s" not in table and len(table) == 18
    timed = published.load("headline", results, timing=True)
    assert timed.set_index(["target_reading", "trial", "method"]).wall_s.loc[
        ("as_printed", 2, "scratch")] == 2.5
    entry = published.manifest(results)["results"]["headline"]
    assert entry["rows"] == 18 and entry["fingerprint"] == codeprint.fingerprint(
        registry.RESULTS["headline"].state())
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


def test_verify_compares_a_chapters_rows_with_the_matching_published_ones(results):
    mine = results_table(trials=2)
    assert "12 rows compared, 12 identical" in published.verify("headline", mine, results)
    changed = results_table(trials=2, steps=999)
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
    table = pd.concat([results_table().assign(setting="a")] * 2
                      + [results_table().assign(setting="b")])
    reproduce.write("ch08", table, PROVENANCE, results_dir=results)
    run = published.or_compute("ch08", published.published_params("ch08", results), "published",
                               None, by="setting", results_dir=results)
    assert len(run(setting="a")) == 18
    with pytest.raises(ValueError, match="no rows with setting = 'c'"):
        run(setting="c")


def test_verify_refuses_rows_keyed_differently(results):
    mine = results_table(trials=1).assign(param_weighting="paper")
    assert "not comparable" in published.verify("headline", mine, results)




def test_run_times_read_each_runs_seconds_from_the_provenance(tmp_path):
    prov = {**PROVENANCE, "run_seconds": {
        "chapter 05, grid 50, trials-0-0 (budget_growth=cells)": 1574.1,
        "chapter 05, grid 8, trials-1-1 (budget_growth=cells)": 3.5}}
    reproduce.write("headline", results_table(), prov, results_dir=tmp_path)
    times = published.run_times("headline", tmp_path)
    assert times.to_dict("records") == [
        {"grid_size": 50, "first_trial": 0, "last_trial": 0, "spec": "budget_growth=cells",
         "seconds": 1574.1},
        {"grid_size": 8, "first_trial": 1, "last_trial": 1, "spec": "budget_growth=cells",
         "seconds": 3.5}]
    reproduce.write("headline", results_table(), PROVENANCE, results_dir=tmp_path)
    assert published.run_times("headline", tmp_path).empty  # published before runs timed


def test_verify_shared_compares_the_rows_two_results_both_computed(results):
    # a result like the size ladder (written here under another registered name): the
    # headline's rows with a parameter it fixed for every row, and a size the headline lacks
    own = results_table().assign(param_budget_growth="cells")
    big = results_table(trials=1).assign(grid_size=35, param_budget_growth="cells")
    reproduce.write("robustness", pd.concat([own, big]), PROVENANCE, results_dir=results)
    said = published.verify_shared("robustness", "headline", results)
    assert said.startswith("robustness's rows (against results/headline.csv)")
    assert "18 rows compared, 18 identical" in said
    reproduce.write("robustness", pd.concat([results_table(steps=999), big])
                    .assign(param_budget_growth="cells"), PROVENANCE, results_dir=results)
    said = published.verify_shared("robustness", "headline", results)
    assert "18 rows compared, 17 identical" in said and "steps_to_converge" in said


def test_the_published_ladder_repeats_the_headline_rows_at_the_papers_sizes():
    """A trial's bits do not depend on its population: the size ladder's trials at the paper's
    sizes (computed in another sweep, with other methods and trials beside them) are the
    headline sweep's rows of the same seeds, on every column both publish."""
    lad = published.load("ladder")
    shared = lad[lad.grid_size.isin(registry.PAPER_SIZES)]
    assert len(shared) == 4 * 2 * 10 * len(registry.LADDER_METHODS)
    said = published.verify_shared("ladder", "headline")
    assert said == (f"ladder's rows (against results/headline.csv): {len(shared)} rows "
                    f"compared, {len(shared)} identical to the bit")
