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
    assert not compare.compare("headline", pub, new).ok
