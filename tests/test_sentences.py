"""Sentences computed from the statistics: what each says for hand-made tables."""

import pandas as pd

from cliprl_helpers.analysis import sentences, stats
from cliprl_helpers.analysis.claims import Verdict
from conftest import sweep_table


def test_comparison_text_says_what_the_interval_shows():
    table = sweep_table({"as_printed": {8: 0.5, 10: 0.5}}, n_trials=4)
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


def test_power_text_per_reading():
    table = sweep_table({"as_printed": {8: 0.7, 10: 0.6}}, n_trials=10)
    text = sentences.power_text(table, 128)
    assert text.startswith("* **as printed**: with 10 trials per size")


def test_detectable_ratio_with_two_trials_still_answers():
    r = stats.detectable_ratio(0.3, 2)  # one degree of freedom: only huge effects
    assert 0 < r < 0.05
    table = sweep_table({"as_printed": {5: 0.5, 6: 0.5}}, n_trials=2)
    assert sentences.power_text(table, 128).startswith("* **as printed**: with 2 trials per size")


def test_metrics_text_names_every_metric_that_changes_the_answer():
    pooled = pd.DataFrame({
        "target_reading": ["as_printed"] * 4 + ["self_consistent"] * 4,
        "metric": ["time to 1.0 (the paper's)", "jumpstart: optimal fraction", "time to 0.9",
                   "final optimal fraction"] * 2,
        "better": ["lower", "higher", "lower", "higher"] * 2,
        "geo-mean ratio": [1.45, 1.2, 1.1, 1.0, 0.8, 1.0, 0.9, 1.0],
        "95% CI": ["[1.31, 1.61]", "[1.10, 1.30]", "[1.01, 1.20]", "[1.00, 1.00]",
                   "[0.70, 0.95]", "[0.90, 1.10]", "[0.80, 0.99]", "[1.00, 1.00]"],
        "answer": ["worse", "better", "worse", "equal", "better", "not shown", "better",
                   "equal"]})
    text = sentences.metrics_text(pooled)
    first, second = text.split("\n")
    assert first.startswith("* *as printed*: by the paper's metric Algorithm 2 is **worse than"
                            "** Algorithm 1 (time to 1.0 (the paper's): worse (1.45 [1.31, "
                            "1.61], lower is better)).")
    assert "**1 of 3 other metrics gives another answer**: jumpstart: optimal fraction: better " \
           "(1.20 [1.10, 1.30], higher is better). Equal for both in every trial: final " \
           "optimal fraction." in first
    assert "time to 0.9" not in first
    assert "**better than** Algorithm 1" in second and "jumpstart" in second


def test_growth_text_gives_each_readings_label_effect_and_bound():
    text = sentences.growth_text(
        {"as_printed": Verdict("holds", "slope -0.40 [-0.70, -0.10]", "slope hi -0.10 < 0",
                               "the ratio falls with size"),
         "self_consistent": Verdict("not shown", "slope +0.10 [-0.20, 0.40]",
                                    "slope lo -0.20 <= 0 <= hi +0.40", "the ratio rises")},
        10, [50, 8, 10], 10)
    assert text.startswith("Does the gain grow with the grid? On the size ladder (8x8 to "
                           "50x50, 10 trials per size)")
    assert "over sizes 10 and up" in text
    assert ("*as printed*: **holds** (the ratio falls with size; slope -0.40 [-0.70, -0.10], "
            "deciding: slope hi -0.10 < 0)") in text
    assert "*self consistent*: **is not shown by these runs** (the ratio rises" in text
