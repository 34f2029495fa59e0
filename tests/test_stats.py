"""The statistics layer against hand-computed cases, and the claim rules."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from cliprl_helpers.analysis import stats
from conftest import sweep_table


def test_log_t_interval_by_hand():
    # logs 0, ln2, 2 ln2: mean ln2, sd ln2, se ln2/sqrt(3); t(0.975, 2 df) = 4.302653
    gm, lo, hi = stats.log_t_interval([1, 2, 4])
    half = 4.302653 * math.log(2) / math.sqrt(3)
    assert gm == pytest.approx(2.0)
    assert lo == pytest.approx(math.exp(math.log(2) - half), rel=1e-6)
    assert hi == pytest.approx(math.exp(math.log(2) + half), rel=1e-6)
    assert stats.log_t_interval([3, 3, 3]) == (pytest.approx(3), pytest.approx(3),
                                               pytest.approx(3))
    assert math.isnan(stats.log_t_interval([2.0])[1])


def test_wilcoxon_exact_p_by_hand():
    # five ratios all above 1, distinct: the exact two-sided p is 2 / 2**5
    assert stats.wilcoxon_p([1.1, 1.3, 1.7, 2.2, 3.0]) == pytest.approx(2 / 32)
    assert math.isnan(stats.wilcoxon_p([1.0, 1.0, 1.0]))


def test_bca_interval_is_scipys_paired_bootstrap():
    x = np.array([1.0] * 9 + [5.0, 20.0, 60.0])  # skewed to the right
    lo, hi = stats.bca_interval((x,), np.mean, seed=3)
    ref = sps.bootstrap((x,), np.mean, method="BCa", vectorized=False,
                        rng=np.random.default_rng(3)).confidence_interval
    assert (lo, hi) == (pytest.approx(ref.low), pytest.approx(ref.high))
    assert lo < x.mean() < hi
    # skewed data: the interval is not symmetric about the mean
    assert (hi - x.mean()) > (x.mean() - lo)
    assert all(math.isnan(v) for v in stats.bca_interval(([1.0],), np.mean))


def test_ratio_stats_side_by_side():
    num, den = [100, 300, 50, 400], [200, 300, 100, 100]
    r = stats.ratio_stats(num, den)
    ratios = np.array([0.5, 1.0, 0.5, 4.0])
    assert r["trials"] == 4 and r["faster"] == 2
    assert r["geo-mean ratio"] == pytest.approx(np.exp(np.log(ratios).mean()))
    assert r["median ratio"] == pytest.approx(0.75)
    assert r["ratio of means"] == pytest.approx(850 / 700)
    assert r["lo"] < r["geo-mean ratio"] < r["hi"]
    with_res = stats.ratio_stats([0, 0], [0, 128], resolution=128)
    assert with_res["median ratio"] == pytest.approx(0.75)


def test_ratio_table_pairs_by_trial_and_counts_censored():
    rows = []
    for n in (4, 5):
        for t in range(3):
            for m, steps in (("algorithm1", 100 * (t + 1)), ("algorithm2", 50 * (t + 1))):
                rows.append({"grid_size": n, "trial": t, "method": m,
                             "steps_to_converge": steps, "censored": (m, t) == ("algorithm2", 2)})
    t = stats.ratio_table(pd.DataFrame(rows), "algorithm2", "algorithm1", ["grid_size"])
    assert list(t.grid_size) == [4, 5]
    assert t["geo-mean ratio"].tolist() == pytest.approx([0.5, 0.5])
    assert t["censored pairs"].tolist() == [1, 1]
    with pytest.raises(ValueError, match=r"\['oracle'\] are not in the table"):
        stats.ratio_table(pd.DataFrame(rows), "oracle", "algorithm1", ["grid_size"])


def test_statistics_refuse_non_ratios():
    with pytest.raises(ValueError, match="ratios must be positive"):
        stats.log_t_interval([1.0, 0.0])
    with pytest.raises(ValueError, match="finite"):
        stats.wilcoxon_p([1.0, float("nan")])


def test_ratio_table_pools_sizes_by_trial_of_each_size():
    table = sweep_table({"as_printed": {8: 0.5, 10: 0.5}}, n_trials=3)
    pooled = stats.ratio_table(table, "algorithm2", "algorithm1", ["target_reading"], 0)
    assert pooled.trials.tolist() == [6]  # 2 sizes x 3 trials, not 3


def test_holm_by_hand():
    # p = (0.01, 0.04, 0.03, nan): sorted 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 -> max 0.06
    assert stats.holm([0.01, 0.04, 0.03, float("nan")])[:3].tolist() == \
        pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(stats.holm([0.01, 0.04, 0.03, float("nan")])[3])
    assert stats.holm([0.5, 0.9]).tolist() == [1.0, 1.0]


def test_detectable_ratio_has_the_stated_power():
    r = stats.detectable_ratio(0.5, 10)
    delta = -math.log(r)
    # simulate the t-test at that effect: about 80% of samples reject
    rng = np.random.default_rng(0)
    x = rng.normal(-delta, 0.5, size=(20000, 10))
    p = sps.ttest_1samp(x, 0.0, axis=1).pvalue
    assert (p < 0.05).mean() == pytest.approx(0.8, abs=0.015)
    assert stats.detectable_ratio(0.5, 40) > r  # more trials see smaller effects
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        stats.detectable_ratio(0.5, 1)


def test_slope_log_ratio_is_the_least_squares_slope_also_in_batches():
    sizes = [8, 10, 15, 25]
    rng = np.random.default_rng(1)
    groups = [rng.normal(-0.1 * k, 0.2, size=6) for k in range(4)]
    x = np.log(sizes)
    expected = np.polyfit(x, [g.mean() for g in groups], 1)[0]
    assert stats.slope_log_ratio(sizes, groups) == pytest.approx(expected, rel=1e-12)
    batch = [np.stack([g, g[::-1] + 1.0]) for g in groups]  # two resamples at once
    got = stats.slope_log_ratio(sizes, batch, axis=-1)
    assert got.shape == (2,) and got == pytest.approx([expected, expected], rel=1e-12)


def test_geo_mean_ci_brackets_the_geometric_mean():


    gm, lo, hi = stats.geo_mean_ci([0.5, 2.0, 1.0, 1.0])
    assert gm == pytest.approx(1.0)
    assert lo < gm < hi
    lo2, hi2 = stats.bootstrap_ci([1.0, 2.0, 3.0, 4.0])
    assert 1.0 <= lo2 < 2.5 < hi2 <= 4.0
