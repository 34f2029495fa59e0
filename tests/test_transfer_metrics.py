"""The transfer metrics compared between methods (transfer_metrics.py), by hand."""

import numpy as np
import pandas as pd
import pytest

from cliprl_helpers.analysis import transfer_metrics


def test_metric_ratios_by_hand():
    rows = []
    for t, (s2, s1, f2, f1, r2, r1) in enumerate([(100, 300, 0.8, 0.4, -10, -20),
                                                  (200, 600, 0.9, 0.45, -12, -24)]):
        for m, s, f, r in (("algorithm2", s2, f2, r2), ("algorithm1", s1, f1, r1)):
            rows.append({"target_reading": "as_printed", "grid_size": 10, "trial": t,
                         "method": m, "resolution": 28, "steps_to_converge": s,
                         "steps_to_095": s, "steps_to_090": np.nan, "initial_fraction": f,
                         "initial_return": r, "auc_fraction": f, "auc_return": r,
                         "final_fraction": 1.0, "final_return": -5.0})
    got = transfer_metrics.metric_ratios(pd.DataFrame(rows)).set_index("metric")
    assert list(got.index) == [name for name, *_ in transfer_metrics.METRICS]
    # steps: (100 + 28) / (300 + 28) and (200 + 28) / (600 + 28), geometric mean
    want = np.sqrt(128 / 328 * 228 / 628)
    assert got.loc["time to 1.0 (the paper's)", "geo-mean ratio"] == pytest.approx(want)
    assert got.loc["jumpstart: optimal fraction", "geo-mean ratio"] == pytest.approx(2.0)
    # every ratio exactly 2: the interval is the point (stats.log_t_interval), above 1
    assert got.loc["jumpstart: optimal fraction", "answer"] == "better"
    assert got.loc["jumpstart: episode length", "geo-mean ratio"] == pytest.approx(0.5)
    assert got.loc["time to 0.9", "answer"] == "not measured"
    assert got.loc["final optimal fraction", "geo-mean ratio"] == 1.0
    # the same value for both in every trial: equal, not "not shown"
    assert got.loc["final optimal fraction", "answer"] == "equal"
    assert got.loc["final episode length", "answer"] == "equal"
    assert got.loc["time to 1.0 (the paper's)", "better"] == "lower"

    # pooled over sizes, the unit is a (grid size, trial) pair
    two = pd.concat([pd.DataFrame(rows), pd.DataFrame(rows).assign(grid_size=20)])
    pooled = transfer_metrics.metric_ratios(two, by=("target_reading",)).set_index("metric")
    assert pooled.loc["jumpstart: optimal fraction", "trials"] == 4
    assert pooled.loc["time to 1.0 (the paper's)", "geo-mean ratio"] == pytest.approx(want)
