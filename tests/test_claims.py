"""The paper's claims as rules: each label says its direction, its size and the bound that
decided it."""

import numpy as np
import pytest

from cliprl_helpers.analysis import claims, sentences, stats
from conftest import per_size_table, sweep_table


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


def test_claim_growth_rules():
    v, d = claims.claim_growth(per_size_table({8: 0.9, 10: 0.7, 15: 0.5, 25: 0.3}))
    assert v.status == "holds" and d["slope_hi"] < 0 and d["largest_hi"] < 1
    v, _ = claims.claim_growth(per_size_table({8: 0.5, 10: 0.7, 15: 0.9, 25: 1.3}))
    assert v.status == "contradicted" and "grows" in v.reason
    # falling, but Algorithm 2 still slower at the largest size: the claim is about a gain
    v, _ = claims.claim_growth(per_size_table({8: 4.0, 10: 3.0, 15: 2.5, 25: 2.0}))
    assert v.status == "contradicted" and "slower at the largest" in v.reason
    v, _ = claims.claim_growth(per_size_table({8: 1.0, 10: 1.0, 15: 1.0, 25: 1.0}, spread=0.5))
    assert v.status == "not shown"
    v, _ = claims.claim_growth(per_size_table({8: 0.9, 25: 0.3}))
    assert v.status == "not testable" and "at least 3 grid sizes" in v.reason


def test_verdict_headline_and_tables_from_a_sweep_table():
    table = sweep_table({"as_printed": {8: 0.7, 10: 0.55, 15: 0.4, 25: 0.3},
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
    table = sweep_table({"as_printed": {5: 0.5, 6: 0.5}}, n_trials=2)
    v = claims.verdict(table, resolution=128)
    assert v["claim 2"].tolist() == ["not testable"]
    assert "cannot be tested here" in sentences.headline(v, "x")


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
    per_size = per_size_table({8: 0.9, 10: 0.7, 15: 0.5, 25: 0.3})
    v, d = claims.claim_growth(per_size)
    first, last = (np.exp(np.log(per_size[n]).mean()) for n in (8, 25))
    assert v.label == f"holds: the ratio falls from {first:.2f} at 8x8 to {last:.2f} at " \
                      f"25x25 (slope hi {d['slope_hi']:+.2f} < 0, hi at 25x25 " \
                      f"{d['largest_hi']:.2f} < 1)"
    assert 0.85 < first < 0.95 and 0.25 < last < 0.35
    v, d = claims.claim_growth(per_size_table({8: 1.0, 10: 1.0, 15: 1.0, 25: 1.0}, spread=0.5))
    assert v.status == "not shown" and "slope hi" in v.bound or "hi at 25x25" in v.bound
    v, d = claims.claim_growth(per_size_table({8: 0.5, 10: 0.7, 15: 0.9, 25: 1.3}))
    assert v.label.startswith("contradicted: the ratio rises from 0.")
    assert v.label.endswith(f" at 25x25 (slope lo {d['slope_lo']:+.2f} > 0)")
    v, _ = claims.claim_growth(per_size_table({8: 4.0, 10: 3.0, 15: 2.5, 25: 2.0}))
    assert ", still slower (lo at 25x25 " in v.label
    v, _ = claims.claim_growth(per_size_table({8: 0.9, 25: 0.3}))
    assert v.label == "not testable (2 grid sizes)"
