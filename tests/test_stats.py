"""The statistics layer against hand-computed cases, and the claim rules."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from cliprl_helpers.analysis import claims, ratios, sentences, stats


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


@pytest.mark.parametrize("lo, hi, status, words", [
    (0.3, 0.7, "holds", "reaches 0.5"),
    (0.2, 0.4, "holds", "below 1"),
    (0.6, 0.9, "contradicted", "less than 50% fewer"),
    (0.7, 1.4, "contradicted", "no difference shown"),
    (1.2, 2.0, "contradicted", "slower"),
    (0.4, 1.3, "not shown", "contains both"),
    (float("nan"), float("nan"), "not testable", "fewer than two"),
])
def test_claim_reduction_rule(lo, hi, status, words):
    v = claims.claim_reduction(lo, hi)
    assert v.status == status and words in v.reason


def _per_size(medians, n=10, spread=0.05, seed=0):
    rng = np.random.default_rng(seed)
    return {size: np.exp(np.log(m) + spread * rng.standard_normal(n))
            for size, m in medians.items()}


def test_claim_growth_rules():
    v, d = claims.claim_growth(_per_size({8: 0.9, 10: 0.7, 15: 0.5, 25: 0.3}))
    assert v.status == "holds" and d["slope_hi"] < 0 and d["largest_hi"] < 1
    v, _ = claims.claim_growth(_per_size({8: 0.5, 10: 0.7, 15: 0.9, 25: 1.3}))
    assert v.status == "contradicted" and "grows" in v.reason
    # falling, but Algorithm 2 still slower at the largest size: the claim is about a gain
    v, _ = claims.claim_growth(_per_size({8: 4.0, 10: 3.0, 15: 2.5, 25: 2.0}))
    assert v.status == "contradicted" and "slower at the largest" in v.reason
    v, _ = claims.claim_growth(_per_size({8: 1.0, 10: 1.0, 15: 1.0, 25: 1.0}, spread=0.5))
    assert v.status == "not shown"
    v, _ = claims.claim_growth(_per_size({8: 0.9, 25: 0.3}))
    assert v.status == "not testable" and "at least 3 grid sizes" in v.reason


def test_statistics_refuse_non_ratios():
    with pytest.raises(ValueError, match="ratios must be positive"):
        stats.log_t_interval([1.0, 0.0])
    with pytest.raises(ValueError, match="finite"):
        stats.wilcoxon_p([1.0, float("nan")])


def _sweep_table(medians_by_reading, n_trials=6, seed=0):
    """A synthetic summary.csv: per reading and size, Algorithm 2 / Algorithm 1 ratios near
    the given medians; scratch twice Algorithm 1."""
    rng = np.random.default_rng(seed)
    rows = []
    for reading, medians in medians_by_reading.items():
        for n, m in medians.items():
            for t in range(n_trials):
                a1 = 10_000 * (1 + 0.1 * t)
                a2 = a1 * m * math.exp(0.05 * rng.standard_normal())
                for method, steps in (("scratch", 2 * a1), ("algorithm1", a1),
                                      ("algorithm2", a2), ("oracle", a1)):
                    rows.append({"target_reading": reading, "grid_size": n, "trial": t,
                                 "method": method, "steps_to_converge": int(steps),
                                 "censored": False})
    return pd.DataFrame(rows)


def test_verdict_headline_and_tables_from_a_sweep_table():
    table = _sweep_table({"as_printed": {8: 0.7, 10: 0.55, 15: 0.4, 25: 0.3},
                          "self_consistent": {8: 1.3, 10: 1.3, 15: 1.4, 25: 1.5}})
    v = claims.verdict(table, resolution=128).set_index("reading")
    assert v.loc["as_printed", "claim 1"] == "holds"
    assert v.loc["as_printed", "claim 2"] == "holds"
    assert v.loc["self_consistent", "claim 1"] == "contradicted"
    assert v.loc["self_consistent", "claim 2"] == "contradicted"
    text = sentences.headline(v.reset_index(), "a test table")
    assert "**Target as printed:** over 4 grid sizes x 6 trials" in text
    assert "is contradicted" in text and "(Computed from a test table.)" in text
    reasons = sentences.verdict_reasons(v.reset_index())
    assert reasons.count("* **") == 2 and "slope of log ratio" in reasons
    shown = sentences.display_ratios(stats.ratio_table(table, "algorithm2", "algorithm1",
                                                   ["target_reading", "grid_size"], 128),
                                 ["target_reading", "grid_size"])
    assert list(shown.columns[:3]) == ["target reading", "grid size", "trials"]
    assert shown["95% CI (t on logs)"].str.match(r"\[\d+\.\d\d, \d+\.\d\d\]").all()
    words = sentences.decomposition_text(table, 128)
    assert "Algorithm 1 / scratch goes from 0.50 to 0.50" in words


def test_verdict_with_two_sizes_says_not_testable():
    table = _sweep_table({"as_printed": {5: 0.5, 6: 0.5}}, n_trials=2)
    v = claims.verdict(table, resolution=128)
    assert v["claim 2"].tolist() == ["not testable"]
    assert "cannot be tested here" in sentences.headline(v, "x")


def test_report_html_is_escaped_and_structured():
    from cliprl_helpers.analysis import report

    out = report.to_html("**Target:** a < b & `x`\n\n* one\n* **two**")
    assert out == ("<p><strong>Target:</strong> a &lt; b &amp; <code>x</code></p>\n"
                   "<ul><li>one</li><li><strong>two</strong></li></ul>")
    box = report.admonition("small sweep").data
    assert box.startswith('<div class="admonition warning"><p class="admonition-title">Warning')


def test_ratio_table_pools_sizes_by_trial_of_each_size():
    table = _sweep_table({"as_printed": {8: 0.5, 10: 0.5}}, n_trials=3)
    pooled = stats.ratio_table(table, "algorithm2", "algorithm1", ["target_reading"], 0)
    assert pooled.trials.tolist() == [6]  # 2 sizes x 3 trials, not 3


def test_comparison_text_says_what_the_interval_shows():
    table = _sweep_table({"as_printed": {8: 0.5, 10: 0.5}}, n_trials=4)
    raw = stats.comparison_table(table, [("algorithm2", "algorithm1"),
                                         ("scratch", "algorithm1"), ("oracle", "algorithm1"),
                                         ("algorithm2", "nonexistent")],
                                 ["target_reading"], 0)
    assert raw.comparison.tolist() == ["algorithm2 / algorithm1", "scratch / algorithm1",
                                       "oracle / algorithm1"]
    text = sentences.comparison_text(raw, {"algorithm2": "Algorithm 2"}).splitlines()
    assert text[0].startswith("* Algorithm 2 / algorithm1 (as printed): 0.5")
    assert text[0].endswith("Algorithm 2 is faster.")
    assert text[1].endswith("scratch is slower.")
    assert text[2].endswith("no difference is shown.")


def test_holm_by_hand():
    # p = (0.01, 0.04, 0.03, nan): sorted 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 -> max 0.06
    assert stats.holm([0.01, 0.04, 0.03, float("nan")])[:3].tolist() == \
        pytest.approx([0.03, 0.06, 0.06])
    assert math.isnan(stats.holm([0.01, 0.04, 0.03, float("nan")])[3])
    assert stats.holm([0.5, 0.9]).tolist() == [1.0, 1.0]


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


def test_power_text_per_reading():
    table = _sweep_table({"as_printed": {8: 0.7, 10: 0.6}}, n_trials=10)
    text = sentences.power_text(table, 128)
    assert text.startswith("* **as printed**: with 10 trials per size")


def test_report_table_rounds_once_and_formats_p_values():
    from cliprl_helpers.analysis import report

    html = report.table(pd.DataFrame({"x": [0.57], "p": [0.01234], "name": ["a"]})).to_html()
    assert ">0.57<" in html and ">0.012<" in html and "0.570000" not in html
    html = report.table(pd.DataFrame({"rho": [0.299473]})).to_html()
    assert ">0.30<" in html


def test_detectable_ratio_with_two_trials_still_answers():
    r = stats.detectable_ratio(0.3, 2)  # one degree of freedom: only huge effects
    assert 0 < r < 0.05
    table = _sweep_table({"as_printed": {5: 0.5, 6: 0.5}}, n_trials=2)
    assert sentences.power_text(table, 128).startswith("* **as printed**: with 2 trials per size")


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


@pytest.mark.parametrize("lo, hi, label", [
    # the effect is the interval's geometric midpoint: sqrt(0.3 * 0.7) = 0.458 -> 54% faster
    (0.3, 0.7, "holds: Algorithm 2 is 54% faster (hi 0.70 < 1, lo 0.30 <= 0.5)"),
    (0.6, 0.9, "contradicted: Algorithm 2 is 27% faster, not the claimed 50% (lo 0.60 > 0.5)"),
    (1.2, 2.0, "contradicted: Algorithm 2 is 55% slower (lo 1.20 > 1)"),
    (0.7, 1.4, "contradicted: Algorithm 2 is 1% faster, not shown to differ, and not the "
               "claimed 50% (lo 0.70 > 0.5)"),
    (0.4, 1.03, "not shown: Algorithm 2 is 36% faster, not shown to differ "
                "(lo 0.40 <= 0.5, hi 1.03 >= 1)"),
    (0.5, 2.0, "not shown: Algorithm 2 is about as fast, not shown to differ "
               "(lo 0.50 <= 0.5, hi 2.00 >= 1)"),
])
def test_a_claim_1_label_names_the_bound_that_decided_it(lo, hi, label):
    assert claims.claim_reduction(lo, hi).label == label


def test_a_claim_2_label_names_the_bounds_that_decided_it():
    per_size = _per_size({8: 0.9, 10: 0.7, 15: 0.5, 25: 0.3})
    v, d = claims.claim_growth(per_size)
    first, last = (np.exp(np.log(per_size[n]).mean()) for n in (8, 25))
    assert v.label == f"holds: the ratio falls from {first:.2f} at 8x8 to {last:.2f} at " \
                      f"25x25 (slope hi {d['slope_hi']:+.2f} < 0, hi at 25x25 " \
                      f"{d['largest_hi']:.2f} < 1)"
    assert 0.85 < first < 0.95 and 0.25 < last < 0.35
    v, d = claims.claim_growth(_per_size({8: 1.0, 10: 1.0, 15: 1.0, 25: 1.0}, spread=0.5))
    assert v.status == "not shown" and "slope hi" in v.bound or "hi at 25x25" in v.bound
    v, d = claims.claim_growth(_per_size({8: 0.5, 10: 0.7, 15: 0.9, 25: 1.3}))
    assert v.label.startswith("contradicted: the ratio rises from 0.")
    assert v.label.endswith(f" at 25x25 (slope lo {d['slope_lo']:+.2f} > 0)")
    v, _ = claims.claim_growth(_per_size({8: 4.0, 10: 3.0, 15: 2.5, 25: 2.0}))
    assert ", still slower (lo at 25x25 " in v.label
    v, _ = claims.claim_growth(_per_size({8: 0.9, 25: 0.3}))
    assert v.label == "not testable (2 grid sizes)"
