"""Figures of results: what they draw is what the statistics say."""

import matplotlib

matplotlib.use("agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from cliprl_helpers.analysis import plotting, stats  # noqa: E402
from conftest import sweep_table  # noqa: E402


def test_figure2_draws_each_methods_geometric_mean_with_its_t_interval():
    table = sweep_table({"as_printed": {8: 0.5, 10: 0.8}}, n_trials=4)
    table.loc[0, "censored"] = True
    fig = plotting.figure2(table)
    [ax] = fig.axes
    assert ax.get_title() == "target reading: as printed" and ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["8x8", "10x10"]
    bars = {c.get_label(): c for c in ax.containers}
    alg1 = bars[plotting.METHOD_LABELS["algorithm1"]]
    y = alg1.lines[0].get_ydata()
    for j, n in enumerate((8, 10)):
        steps = table[(table.method == "algorithm1") & (table.grid_size == n)].steps_to_converge
        gm, lo, hi = stats.log_t_interval(steps.to_numpy(float))
        assert np.isclose(y[j], gm)
    assert any("censored (1)" == t.get_text() for t in ax.get_legend().get_texts())


def test_plot_steps_keeps_the_methods_in_the_books_order():
    table = sweep_table({"as_printed": {8: 0.5}}, n_trials=3)
    ax = plotting.plot_steps(table, title="8x8")
    labels = [t.get_text() for t in ax.get_xticklabels()]
    want = [plotting.METHOD_LABELS[m] for m in ("scratch", "algorithm1", "algorithm2", "oracle")]
    assert labels == want and ax.get_title() == "8x8"


def test_metrics_figure_draws_one_panel_per_metric_with_its_ratios():
    ratios = pd.DataFrame({
        "target_reading": ["as_printed"] * 4 + ["self_consistent"] * 4,
        "grid_size": [8, 8, 10, 10] * 2,
        "metric": ["time to 1.0 (the paper's)", "jumpstart: optimal fraction"] * 4,
        "better": ["lower", "higher"] * 4,
        "geo-mean ratio": [1.5, 1.2, 1.4, 1.1, 0.8, 1.3, 0.7, 1.0],
        "lo": [1.3, 1.1, 1.2, 1.0, 0.7, 1.1, 0.6, 0.9],
        "hi": [1.7, 1.3, 1.6, 1.2, 0.9, 1.5, 0.8, 1.1]})
    fig = plotting.metrics_figure(ratios)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == [
        "time to 1.0 (the paper's)\n(lower is better for Algorithm 2)",
        "jumpstart: optimal fraction\n(higher is better for Algorithm 2)"]
    first = {c.get_label(): c for c in shown[0].containers}
    assert list(first) == ["as printed", "self consistent"]
    assert list(first["self consistent"].lines[0].get_ydata()) == [0.8, 0.7]
    assert [t.get_text() for t in shown[1].get_xticklabels()] == ["8x8", "10x10"]


def test_decomposition_figure_draws_the_fitted_trend_over_its_sizes():
    table = sweep_table({"as_printed": {8: 0.5, 10: 0.6, 15: 0.7}}, n_trials=4)
    fit = {"sizes": [10, 15], "slope": -0.5, "fitted_first": 0.8, "fitted_last": 0.65}
    fig = plotting.decomposition_figure(
        table, 0, fits={"as_printed": {"Algorithm 2 / Algorithm 1": fit}})
    [ax] = fig.axes
    [line] = [ln for ln in ax.get_lines()
              if ln.get_label() == "Algorithm 2 / Algorithm 1: fitted, slope -0.50"]
    assert list(line.get_xdata()) == [1, 2]  # 10x10 and 15x15 on the categorical axis
    assert np.allclose(line.get_ydata(), [0.8, 0.8 * 1.5 ** -0.5])


def test_answer_figure_draws_each_readings_fitted_trend():
    per_size = pd.DataFrame({"target_reading": ["as_printed"] * 3, "grid_size": [8, 10, 50],
                             "geo-mean ratio": [0.9, 0.8, 0.7], "lo": [0.8, 0.7, 0.6],
                             "hi": [1.0, 0.9, 0.8]})
    fit = {"sizes": [10, 50], "slope": -0.25, "fitted_first": 0.8, "fitted_last": 0.53}
    fig = plotting.answer_figure(per_size, fits={"as_printed": fit})
    [line] = [ln for ln in fig.axes[0].get_lines()
              if ln.get_label() == "as printed: fitted, slope -0.25"]
    assert list(line.get_xdata()) == [1, 2]
    assert np.allclose(line.get_ydata(), [0.8, 0.8 * 5 ** -0.25])


def test_ratio_axis_labels_powers_of_two_and_thins_them_over_a_wide_range():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.set_ylim(0.3, 5)
    plotting.ratio_axis(ax)
    assert list(ax.get_yticks()) == [0.5, 1, 2, 4]
    ax.set_ylim(0.85, 1.2)  # no two powers of 2: tenths
    plotting.ratio_axis(ax)
    assert list(ax.get_yticks()) == [0.9, 1.0, 1.1]
    ax.set_ylim(1e-6, 1e3)  # 30 doublings: every fourth power of 2
    plotting.ratio_axis(ax)
    ticks = list(ax.get_yticks())
    assert len(ticks) <= 8 and 1.0 in ticks and 16.0 in ticks and 2.0 not in ticks
    plt.close(fig)


def test_ratio_limits_stay_positive_for_widely_spread_ratios():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.errorbar([0, 1], [0.5, 30.0], yerr=[[0.2, 0.1], [0.1, 6.0]])  # linear autoscale < 0
    assert ax.get_ylim()[0] < 0
    plotting.ratio_limits(ax, [[0.3, 0.6], [29.9, 36.0], [np.nan, np.inf]], 0.8, 1.25)
    assert ax.get_ylim() == pytest.approx((0.3 / 1.15, 36.0 * 1.15))
    plotting.ratio_limits(ax, [[1.0, 1.05]], 0.8, 1.25)  # within the least range
    assert ax.get_ylim() == pytest.approx((0.8, 1.25))
    plt.close(fig)
