"""make test recomputes one published slice from nothing: the 8x8 rows of the headline sweep's
first 10 trials (both readings, every method), through the sweep on a Dask cluster, into an
empty training cache, and finds every row identical to the bit to results/headline.csv. The
published rows were trained in 30-trial populations and these in 10-trial ones, so the test
also shows that a trial's numbers do not depend on who else is in its population (the areas
under the learning curve included: an agent's frozen tail is one segment however long its
population went on recording it, ``core.metrics.area``)."""

import platform

import pytest

from cliprl_helpers.core import experiment
from cliprl_helpers.repro import published, reproduce

TRIALS = 10


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="the reference numerics guarantee the same bits on x86-64 only")
def test_the_8x8_rows_of_the_headline_sweep_recompute_to_the_bit(tmp_path):
    assert published.published_params("headline")["n_trials"] > TRIALS
    c = reproduce.reproduce_slice("headline", tmp_path, grid_sizes=[8], trials=TRIALS)
    print(c.report())
    assert c.rows == len(experiment.METHODS) * 2 * TRIALS  # methods x readings x trials
    assert c.ok, c.report()
