"""Sentences computed from the statistics: what each says for hand-made tables."""

from cliprl_helpers.analysis import sentences, stats
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
