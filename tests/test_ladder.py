"""Claim 2 on the size ladder (ladder.py): the trend test, its rule and the metric ratios."""

import numpy as np
import pandas as pd
import pytest

from cliprl_helpers.analysis import ladder, stats

SIZES = (8, 10, 20, 40)


def _table(alg2_slope: float, alg1_slope: float = 0.0, trials: int = 12, trial_sd=0.0,
           noise_sd=0.05, seed=0):
    """Steps with log(algorithm / scratch) = slope x log(n / 10) + trial effect + noise."""
    rng = np.random.default_rng(seed)
    rows = []
    effect = rng.normal(0, trial_sd, trials)
    for t in range(trials):
        for n in SIZES:
            x = np.log(n / 10)
            steps = {"scratch": 1000.0,
                     "algorithm1": 1000.0 * np.exp(alg1_slope * x + rng.normal(0, noise_sd)),
                     "algorithm2": 1000.0 * np.exp(alg2_slope * x + effect[t]
                                                   + rng.normal(0, noise_sd))}
            rows += [{"target_reading": "as_printed", "grid_size": n, "trial": t, "method": m,
                      "steps_to_converge": v, "resolution": 0} for m, v in steps.items()]
    return pd.DataFrame(rows)


def test_the_slope_is_least_squares_over_every_trial_and_size():
    table = _table(-0.5)
    logs = ladder.log_ratio_matrix(table, "algorithm2", "algorithm1", 0)
    assert logs.shape == (12, 4)
    sizes = [10, 20, 40]
    fit = ladder.trend(logs, sizes)
    x = np.repeat(np.log(sizes), 12)
    y = np.concatenate([logs[n].to_numpy() for n in sizes])
    slope, intercept = np.polyfit(x, y, 1)
    assert fit["slope"] == pytest.approx(slope, abs=1e-12)
    assert fit["fitted_first"] == pytest.approx(np.exp(intercept + slope * np.log(10)))
    assert fit["fitted_last"] == pytest.approx(np.exp(intercept + slope * np.log(40)))
    assert fit["lo"] < slope < fit["hi"] and fit["hi"] < 0
    assert fit["sizes"] == sizes and fit["trials"] == 12


def test_the_interval_resamples_whole_trials():
    # large trial effects shared across sizes cancel in a slope: resampling trials (paired)
    # sees that, resampling each size on its own does not
    table = _table(-0.3, trial_sd=1.0, noise_sd=0.02)
    logs = ladder.log_ratio_matrix(table, "algorithm2", "algorithm1", 0)
    fit = ladder.trend(logs, [10, 20, 40])
    cols = [logs[n].to_numpy() for n in (10, 20, 40)]
    lo, hi = stats.bca_interval(cols, lambda *g, axis=-1: stats.slope_log_ratio(
        [10, 20, 40], g, axis), paired=False, vectorized=True)
    assert fit["hi"] - fit["lo"] < 0.1 < hi - lo


@pytest.mark.parametrize("slope,status", [(-0.5, "holds"), (0.5, "contradicted"),
                                          (0.0, "not shown")])
def test_the_plans_decision_rule(slope, status):
    verdict, fits = ladder.growth_verdict(_table(slope, noise_sd=0.3), 0)
    assert verdict.status == status == ladder.decide(fits["Algorithm 2 / Algorithm 1"])
    assert list(fits) == list(ladder.TRENDS)
    # the primary test leaves out the sizes below 10
    assert fits["Algorithm 2 / Algorithm 1"]["sizes"] == [10, 20, 40]


def test_the_label_says_which_method_moved():
    # algorithm 1 gets worse against scratch, algorithm 2 does not move: the ratio falls
    verdict, fits = ladder.growth_verdict(_table(0.0, alg1_slope=0.6), 0)
    assert verdict.status == "holds"
    assert "Algorithm 1 lost ground to scratch" in verdict.label
    assert "Algorithm 2 did not move against scratch" in verdict.label
    assert "fitted 1.00 at 10x10" not in verdict.label and "at 40x40" in verdict.label


def test_growth_verdicts_decide_each_reading_alone():
    table = pd.concat([_table(-0.6).assign(target_reading="self_consistent"), _table(0.0)])
    verdicts, fits = ladder.growth_verdicts(table, 0)
    assert list(verdicts) == ["self_consistent", "as_printed"]  # table order
    assert verdicts["self_consistent"].status == "holds"
    assert verdicts["as_printed"].status == "not shown"
    alone = ladder.growth_verdict(table[table.target_reading == "as_printed"], 0)
    assert verdicts["as_printed"] == alone[0] and fits["as_printed"] == alone[1]


def test_a_missing_trial_or_method_is_refused():
    table = _table(-0.5)
    with pytest.raises(ValueError, match=r"trials missing at grid size\(s\) \{40: 1\}"):
        ladder.log_ratio_matrix(table.drop(table[(table.trial == 3) & (table.grid_size == 40)
                                                 & (table.method == "algorithm2")].index),
                                "algorithm2", "algorithm1", 0)
    with pytest.raises(ValueError, match="method 'oracle' is not in the table"):
        ladder.log_ratio_matrix(table, "oracle", "scratch", 0)
    few = table[table.grid_size.isin([8, 10, 20])]
    assert ladder.growth_verdict(few, 0)[0].status == "not testable"



def test_time_fit_recovers_a_power_law_and_projects_it():
    n = np.array([8, 8, 15, 15, 25, 25, 50, 50])
    jitter = np.array([1.05, 0.95] * 4)
    fit = ladder.time_fit(pd.DataFrame({"grid_size": n, "seconds": 2.0 * n ** 3.0 * jitter}))
    assert fit["exponent"] == pytest.approx(3.0, abs=1e-9)  # the jitter is the same per size
    assert fit["lo"] < 3.0 < fit["hi"]
    # 2 x 100^3, times the geometric mean of the jitter
    assert fit["projected_s"] == pytest.approx(2e6 * np.sqrt(1.05 * 0.95))
    assert fit["runs"] == 8 and fit["sizes"] == [8, 15, 25, 50]
    with pytest.raises(ValueError, match="2 or more grid sizes"):
        ladder.time_fit(pd.DataFrame({"grid_size": [8, 8], "seconds": [1.0, 2.0]}))
    # a fixed cost per run flattens the small sizes; min_size fits the large ones alone
    fixed = pd.DataFrame({"grid_size": n, "seconds": 1e6 + 2.0 * n ** 3.0})
    assert ladder.time_fit(fixed)["exponent"] < 1.0
    large = ladder.time_fit(fixed, min_size=25)
    assert large["sizes"] == [25, 50] and large["runs"] == 4
    # by hand: the slope between the two sizes
    want = np.log((1e6 + 2 * 50 ** 3) / (1e6 + 2 * 25 ** 3)) / np.log(2)
    assert large["exponent"] == pytest.approx(want)
    with pytest.raises(ValueError, match="2 or more grid sizes"):
        ladder.time_fit(fixed, min_size=50)


def test_the_censoring_table_counts_runs_and_shared_base_policies():
    rows = []
    for reading in ("as_printed", "self_consistent"):
        for t in range(3):
            for m in ("scratch", "algorithm2"):
                rows.append({"target_reading": reading, "grid_size": 50, "trial": t,
                             "method": m, "budget": 1_600_000, "bases_censored": t,
                             "censored": m == "scratch" and t > 0})
    table = pd.DataFrame(rows)
    out = ladder.censoring_table(table)
    assert out.to_dict("records") == [{
        "grid size": 50, "budget (env steps)": 1_600_000, "scratch": "4 of 6",
        "algorithm2": "0 of 6", "base policies": "3 of 12"}]  # 0 + 1 + 2 of 4 bases x 3
    table.loc[(table.target_reading == "as_printed") & (table.trial == 1),
              "bases_censored"] = 0
    with pytest.raises(ValueError, match="grid size 50: the readings of a trial disagree"):
        ladder.censoring_table(table)


def test_the_time_table_per_size():
    times = pd.DataFrame({"grid_size": [50, 8, 50, 8, 8], "seconds": [100.0, 1.0, 300.0,
                                                                      2.0, np.nan]})
    out = ladder.time_table(times)
    assert out.to_dict("records") == [
        {"grid size": 8, "runs": 2, "median s per run": 1.5, "total s": 3.0},
        {"grid size": 50, "runs": 2, "median s per run": 200.0, "total s": 400.0}]
