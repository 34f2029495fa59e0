"""The standard transfer metrics (Taylor and Stone, JMLR 2009) compared between methods: each
metric of :mod:`cliprl_helpers.core.metrics` as a per-trial ratio of one method to another,
summarised as a geometric mean with a t-interval (the trial as the unit), and which way it
points.

Time to threshold (the paper's metric, at 1.0) decides the book's claims; the others are shown
beside it, and a page says so when one of them points the other way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .ratios import resolution_of
from .stats import LEVEL, interval_text, log_t_interval

#: The standard transfer metrics (Taylor and Stone, 2009) as ratios of one method to
#: another, per trial: ``(name, column, sign, better)``. ``sign`` -1 turns a return (minus
#: the mean episode length on a goal grid) into the episode length; ``better`` says which
#: side of 1 favours the numerator. Steps get the resolution added, as everywhere.
METRICS = (
    ("time to 1.0 (the paper's)", "steps_to_converge", 1, "lower"),
    ("time to 0.95", "steps_to_095", 1, "lower"),
    ("time to 0.9", "steps_to_090", 1, "lower"),
    ("jumpstart: optimal fraction", "initial_fraction", 1, "higher"),
    ("jumpstart: episode length", "initial_return", -1, "lower"),
    ("area under the curve: optimal fraction", "auc_fraction", 1, "higher"),
    ("area under the curve: episode length", "auc_return", -1, "lower"),
    ("final optimal fraction", "final_fraction", 1, "higher"),
    ("final episode length", "final_return", -1, "lower"),
)
STEP_COLUMNS = ("steps_to_converge", "steps_to_095", "steps_to_090")


def metric_ratios(table: pd.DataFrame, num: str = "algorithm2", den: str = "algorithm1",
                  by=("target_reading", "grid_size"), level: float = LEVEL) -> pd.DataFrame:
    """Every metric of :data:`METRICS` as the geometric-mean ratio ``num / den`` over trials,
    with its t-interval, per group of ``by`` (the unit is the trial; with ``by`` that leaves
    out the grid size, a (grid size, trial) pair); ``answer`` says whether ``num`` is
    better, worse, or not shown to differ by that metric (``not measured`` where no trial
    has it: a run that stopped at a lower threshold; ``equal`` where the two are the same in
    every trial, e.g. the final fraction when every run converged).

    Trials where either value is missing or not positive (a fraction of 0) are left out of
    that metric's ratio and ``trials`` says how many remain.
    """
    resolution = resolution_of(table)
    # the unit: a trial, or a (grid size, trial) pair when the sizes are pooled
    unit = ["trial"] + (["grid_size"] if "grid_size" not in by else [])
    rows = []
    for key, g in table.groupby(list(by), sort=True):
        wide = g.set_index([*unit, "method"])[[c for _, c, _, _ in METRICS]].unstack()
        for name, col, sign, better in METRICS:
            a, b = (sign * wide[col][m].to_numpy(float) for m in (num, den))
            if col in STEP_COLUMNS:
                a, b = a + resolution, b + resolution
            ok = np.isfinite(a) & np.isfinite(b) & (a > 0) & (b > 0)
            gm, lo, hi = log_t_interval(a[ok] / b[ok], level) if ok.sum() else (np.nan,) * 3
            if not ok.any():
                answer = "not measured"
            elif (a[ok] == b[ok]).all():
                answer = "equal"
            elif hi < 1 or lo > 1:
                answer = "better" if (hi < 1) == (better == "lower") else "worse"
            else:
                answer = "not shown"
            rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))),
                         "metric": name, "better": better, "trials": int(ok.sum()),
                         "geo-mean ratio": gm, "lo": lo, "hi": hi,
                         "95% CI": interval_text(lo, hi), "answer": answer})
    return pd.DataFrame(rows)
