"""make test recomputes one published slice from nothing: the 8x8 rows of the headline sweep
(both readings, every method, all 30 trials), through the sweep on a Dask cluster, into an
empty training cache, and finds every row identical to the bit to results/headline.csv."""

import platform

import pytest

from cliprl_helpers import experiment, published


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="the reference numerics guarantee the same bits on x86-64 only")
def test_the_8x8_rows_of_the_headline_sweep_recompute_to_the_bit(tmp_path):
    trials = published.published_params("headline")["n_trials"]
    c = published.reproduce_slice("headline", tmp_path, grid_sizes=[8], trials=trials)
    print(c.report())
    assert c.rows == len(experiment.METHODS) * 2 * trials  # methods x readings x trials
    assert c.ok, c.report()
