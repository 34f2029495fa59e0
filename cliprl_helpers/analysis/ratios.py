"""Paired ratios of training steps: one method's steps over another's, per trial.

The unit of every comparison in the book is the trial: within a trial every method fine-tunes
with the same random streams, so a per-trial ratio isolates the initialisation. This module
turns a results table (one row per trial and method, :mod:`cliprl_helpers.core.experiment`)
into those ratios, summarises them per setting with the trial as the unit, and lays out the
per-trial features that chapter 6 relates to them (:func:`mechanism_table`).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..core.dqn import DQNConfig
from ..core.tasks import paper_tasks
from . import libm
from .stats import log_t_interval

#: Steps are measured at evaluations every ``eval_every * envs_per_agent`` env steps (128 by
#: default); ratios add this resolution to both sides so that a run that starts converged
#: (0 steps) compares finitely instead of giving a ratio of 0 or infinity.
RATIO_RESOLUTION = DQNConfig().eval_every * DQNConfig().envs_per_agent


def resolution_of(table: pd.DataFrame) -> int:
    """The evaluation resolution (env steps between evaluations) of the runs in ``table``,
    from its ``resolution`` column (:data:`RATIO_RESOLUTION` for tables without one).
    Raises ``ValueError`` if the runs were measured at different resolutions."""
    if "resolution" not in table.columns:
        return RATIO_RESOLUTION
    values = sorted(set(int(v) for v in table.resolution.dropna()))
    if len(values) != 1:
        raise ValueError(f"the table mixes runs evaluated every {values} env steps; compare "
                         f"runs of one configuration")
    return values[0]


def paired_ratio(table: pd.DataFrame, num: str = "algorithm2", den: str = "algorithm1",
                 by=("grid_size", "target_reading"),
                 resolution: int | None = None) -> pd.DataFrame:
    """Per trial (within each ``by`` group): ``(steps[num] + resolution) / (steps[den] +
    resolution)``, and whether either run was censored. ``resolution`` defaults to the runs'
    own evaluation interval (:func:`resolution_of`)."""
    if resolution is None:
        resolution = resolution_of(table)
    index = [*by, "trial"]
    missing = [c for c in [*index, "method", "steps_to_converge", "censored"]
               if c not in table.columns]
    if missing:
        raise ValueError(f"paired_ratio needs columns {missing} in the table (it has "
                         f"{list(table.columns)})")
    absent = [m for m in (num, den) if m not in set(table.method)]
    if absent:
        raise ValueError(f"method(s) {absent} are not in the table's 'method' column: it has "
                         f"{sorted(set(table.method))}")
    piv = table.pivot_table(index=index, columns="method", values="steps_to_converge",
                            aggfunc="first")
    cen = table.pivot_table(index=index, columns="method", values="censored", aggfunc="first")
    out = pd.DataFrame({"ratio": (piv[num] + resolution) / (piv[den] + resolution),
                        "censored": cen[num].astype(bool) | cen[den].astype(bool)})
    return out.reset_index()


#: The comparisons an ablation reports, as (numerator, denominator) methods.
ABLATION_COMPARISONS = (("algorithm2", "algorithm1"), ("algorithm2", "scratch"),
                        ("algorithm1", "scratch"))


def ratio_summary(table: pd.DataFrame, num: str, den: str, by: str = "setting") -> pd.DataFrame:
    """Per ``by`` group: the ratio ``num / den`` over held-out targets and trials, with the
    **trial as the unit**: one trial's base policies serve every held-out target, so its
    targets are not independent. Each trial's log ratios are averaged over targets, and the
    geometric mean gets a t-interval and a one-sample t-test over those trial means
    (:func:`cliprl_helpers.analysis.stats.log_t_interval`). ``wins`` is the share of (target, trial)
    pairs where ``num`` was faster.

    Columns ``setting, comparison, geo-mean ratio, lo, hi, p, trials, wins``.
    """
    groups = [by, "target"] if "target" in table.columns else [by]
    r = paired_ratio(table, num, den, by=groups)
    out = []
    for setting, g in r.groupby(by, sort=False):
        per_trial = libm.log(g.ratio).groupby(g.trial).mean()
        gm, lo, hi = log_t_interval(libm.exp(per_trial))
        p = float(sps.ttest_1samp(per_trial, 0.0).pvalue) if len(per_trial) > 1 and \
            np.ptp(per_trial) > 0 else float("nan")
        out.append({"setting": setting, "comparison": f"{num} / {den}",
                    "geo-mean ratio": gm, "lo": lo, "hi": hi, "p": p,
                    "trials": int(len(per_trial)), "wins": float((g.ratio < 1).mean())})
    return pd.DataFrame(out)


def ablation_summary(table: pd.DataFrame, comparisons=ABLATION_COMPARISONS) -> pd.DataFrame:
    """:func:`ratio_summary` of every comparison in ``comparisons``, stacked."""
    return pd.concat([ratio_summary(table, n, d) for n, d in comparisons], ignore_index=True)


def nearest_half(goals: list[tuple[int, int]], target: tuple[int, int]) -> np.ndarray:
    """Mask of the bases whose goals are nearer (Manhattan) to the target than the median
    base: for the paper's tasks, the two right-hand goals beside the target."""
    d = np.array([abs(g[0] - target[0]) + abs(g[1] - target[1]) for g in goals], dtype=float)
    return d < np.median(d)


def mechanism_table(table: pd.DataFrame, resolution: int | None = None,
                    method: str = "algorithm2", against: str = "algorithm1") -> pd.DataFrame:
    """One row per (reading, grid size, trial) of the paper's task set: the log ratio
    ``method / against`` and what ``method``'s initialisation looked like.

    Columns: ``target_reading, grid_size, trial, log_ratio, sum_abs_weight`` (the sum of the
    absolute weights, 1 unless the weights extrapolate), ``negative_weights``,
    ``near_weight`` (net weight on the bases nearest the target, :func:`nearest_half`),
    ``initial_fraction_gain`` (initial optimal fraction of ``method`` minus ``against``'s),
    ``top_pick_nearest``, ``align_own_accuracy``.
    """
    resolution = resolution_of(table) if resolution is None else resolution
    rows = []
    for (reading, n), g in table.groupby(["target_reading", "grid_size"], sort=True):
        ts = paper_tasks(int(n), reading)
        near = nearest_half(list(ts.bases.values()), ts.target_goal)
        by = g.set_index(["trial", "method"])
        for t in sorted(g.trial.unique()):
            a, b = by.loc[(t, method)], by.loc[(t, against)]
            w = np.asarray(json.loads(a.weights), dtype=float)
            rows.append({
                "target_reading": reading, "grid_size": int(n), "trial": int(t),
                "log_ratio": float(libm.log((a.steps_to_converge + resolution)
                                          / (b.steps_to_converge + resolution))),
                "sum_abs_weight": float(np.abs(w).sum()),
                "negative_weights": bool(a.negative_weights),
                "near_weight": float(w[near].sum()),
                "initial_fraction_gain": float(a.initial_fraction - b.initial_fraction),
                "top_pick_nearest": float(a.top_pick_nearest),
                "align_own_accuracy": float(a.align_own_accuracy)})
    return pd.DataFrame(rows)
