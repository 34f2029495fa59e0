"""Paired ratios of steps, with the trial as the unit."""

import numpy as np
import pandas as pd
import pytest

from cliprl_helpers.analysis import ratios, stats
from conftest import sweep_table


def test_ratio_summary_uses_the_trial_as_unit():

    rows = []
    for t in range(4):
        for target in ("a", "b", "c"):
            for m, steps in (("algorithm1", 1000), ("algorithm2", 500 * (1 + 0.2 * t))):
                rows.append({"setting": "s", "target": target, "trial": t, "method": m,
                             "steps_to_converge": steps, "censored": False})
    r = ratios.ratio_summary(pd.DataFrame(rows), "algorithm2", "algorithm1")
    assert r.trials.tolist() == [4]  # 4 trials, not 12 (target, trial) pairs
    logs = [np.log((500 * (1 + 0.2 * t) + 128) / (1000 + 128)) for t in range(4)]
    gm, lo, hi = stats.log_t_interval(np.exp(logs))
    assert r["geo-mean ratio"].iloc[0] == pytest.approx(gm)
    assert (r.lo.iloc[0], r.hi.iloc[0]) == (pytest.approx(lo), pytest.approx(hi))


def test_ratios_use_the_runs_own_resolution():
    t = sweep_table({"as_printed": {8: 0.5}}, n_trials=3)
    assert ratios.resolution_of(t) == ratios.RATIO_RESOLUTION == 128  # no column: the default
    t = t.assign(resolution=128)
    assert ratios.resolution_of(t) == 128
    r = ratios.paired_ratio(t, by=["target_reading"])
    piv = t.pivot_table(index="trial", columns="method", values="steps_to_converge")
    want = (piv.algorithm2 + 128) / (piv.algorithm1 + 128)
    assert r.ratio.tolist() == want.tolist()  # (steps + resolution) / (steps + resolution)
    wide = t.assign(resolution=1024)
    r_wide = ratios.paired_ratio(wide, by=["target_reading"]).ratio
    assert r_wide.tolist() == ((piv.algorithm2 + 1024) / (piv.algorithm1 + 1024)).tolist()
    with pytest.raises(ValueError, match=r"mixes runs evaluated every \[128, 1024\]"):
        ratios.resolution_of(pd.concat([t, wide]))
