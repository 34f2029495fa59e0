"""cliprl_helpers.repro.compare: two versions of a table, row by row, to the bit."""

from cliprl_helpers.repro import compare
from conftest import results_table


def test_identical_rows_compare_identical_in_any_order_and_a_changed_cell_is_reported():
    pub = results_table()
    same = compare.compare("headline", pub, pub.sample(frac=1, random_state=0))
    assert same.ok and same.identical == same.rows == 18
    other = compare.compare("headline", pub, results_table(steps=1408))
    assert not other.ok and other.identical == 17
    report = other.report()
    assert "1 rows differ" in report and "steps_to_converge" in report
    assert "largest change a factor 1.41" in report
    fewer = compare.compare("headline", pub, pub.iloc[:-1])
    assert not fewer.ok and "row counts differ" in fewer.note


def test_a_floats_last_bit_counts():
    pub = results_table()
    new = pub.copy()
    new.loc[3, "initial_fraction"] = float.fromhex(new.loc[3, "initial_fraction"].hex()) \
        + 2 ** -52
    c = compare.compare("headline", pub, new)
    assert not c.ok
    # a factor would round to 1: the report gives the relative change, 2^-52 / the value
    want = 2 ** -52 / pub.loc[3, "initial_fraction"]
    assert f"largest relative change {want:.3g}" in c.report()


def test_added_columns_are_named_and_the_published_ones_compared():
    pub = results_table()
    more = pub.assign(auc_fraction=0.5)
    c = compare.compare("headline", pub, more.sample(frac=1, random_state=1))
    assert c.identical == c.rows == 18 and not c.ok  # the published table is not current
    assert c.note == "columns added: auc_fraction (the published columns compared)"
    moved = more.copy()
    moved.loc[2, "steps_to_converge"] += 1
    assert compare.compare("headline", pub, moved).identical == 17
    dropped = compare.compare("headline", pub, pub.drop(columns="censored"))
    assert dropped.identical == 0 and "the columns differ" in dropped.note
