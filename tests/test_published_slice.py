"""make test recomputes one published slice from nothing: the 8x8 rows of the headline sweep's
first 10 trials (both readings, every method), through the sweep on a Dask cluster, into an
empty training cache, and finds every row identical to the bit to results/headline.csv. The
published rows were trained in 30-trial populations and these in 10-trial ones, so the test
also shows that a trial's numbers do not depend on who else is in its population.

Known defect, until the fix in ``tools/pending/area_fix.patch`` is re-published: the two areas
under the learning curve (``auc_fraction``, ``auc_return``) depend in their last bits on how
long the population went on recording an agent after it converged (its frozen value is
summed in one product per evaluation, each rounded). They are compared within
:data:`AREA_RTOL` here; every other column, to the bit."""

import platform

import numpy as np
import pandas as pd
import pytest

from cliprl_helpers.core import experiment
from cliprl_helpers.repro import published, reproduce

TRIALS = 10
#: The areas' stated tolerance (relative) until the fix is re-published; a few units in the
#: last place of a float64.
AREA = ("auc_fraction", "auc_return")
AREA_RTOL = 1e-14


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="the reference numerics guarantee the same bits on x86-64 only")
def test_the_8x8_rows_of_the_headline_sweep_recompute_to_the_bit(tmp_path):
    assert published.published_params("headline")["n_trials"] > TRIALS
    c = reproduce.reproduce_slice("headline", tmp_path, grid_sizes=[8], trials=TRIALS)
    print(c.report())
    assert c.rows == len(experiment.METHODS) * 2 * TRIALS  # methods x readings x trials
    other = c.differing[~c.differing.column.isin(AREA)]
    assert other.empty, c.report()
    areas = c.differing[c.differing.column.isin(AREA)]
    pub, rec = (pd.to_numeric(areas[k]).to_numpy(float) for k in ("published", "recomputed"))
    assert np.all(np.abs(rec - pub) <= AREA_RTOL * np.abs(pub)), c.report()
