"""The transfer metrics read off a learning curve (metrics.py), against hand-computed values."""

import math

import numpy as np
import pytest

from cliprl_helpers.core import metrics

STEPS = np.array([0, 128, 256, 384])
# two agents: one reaches 0.9 at 128, 0.95 and 1.0 at 256; one never passes 0.8
FRACTION = np.array([[0.5, 0.1], [0.92, 0.2], [1.0, 0.8], [1.0, 0.8]])
RETURN = np.array([[-20.0, -40.0], [-8.0, -30.0], [-4.0, -12.0], [-4.0, -12.0]])


def test_steps_to_threshold_is_the_first_evaluation_at_or_above_it_else_the_budget():
    assert metrics.steps_to(STEPS, FRACTION, 0.9, 1000).tolist() == [128, 1000]
    assert metrics.steps_to(STEPS, FRACTION, 1.0, 1000).tolist() == [256, 1000]
    assert metrics.steps_to(STEPS, FRACTION, 0.8, 1000).tolist() == [128, 256]


def test_area_holds_each_value_to_the_next_evaluation_and_the_last_to_the_budget():
    # agent 0 over [0, 1000): 0.5 x 128 + 0.92 x 128 + 1.0 x (1000 - 256)
    want0 = (0.5 * 128 + 0.92 * 128 + 1.0 * 744) / 1000
    want1 = (0.1 * 128 + 0.2 * 128 + 0.8 * 744) / 1000
    assert metrics.area(STEPS, FRACTION, 1000) == pytest.approx([want0, want1], abs=1e-15)
    # a budget inside the curve cuts it: [0, 200) sees 0.5 for 128 steps, 0.92 for 72
    assert metrics.area(STEPS, FRACTION, 200)[0] == pytest.approx((0.5 * 128 + 0.92 * 72)
                                                                   / 200, abs=1e-15)
    # a constant curve has that constant as its area, whatever the grid
    assert metrics.area(STEPS, np.full((4, 1), 0.25), 999).tolist() == [0.25]
    with pytest.raises(ValueError, match="curve_steps must start at 0"):
        metrics.area(STEPS + 1, FRACTION, 1000)


def test_curve_metrics_columns_and_values():
    m = metrics.curve_metrics(STEPS, FRACTION, RETURN, 1000)
    assert list(m) == list(metrics.COLUMNS) == [
        "initial_return", "steps_to_095", "steps_to_090", "auc_fraction", "auc_return",
        "final_fraction", "final_return"]
    assert m["initial_return"].tolist() == [-20.0, -40.0]
    assert m["steps_to_095"].tolist() == [256, 1000] and m["steps_to_090"].tolist() == [128, 1000]
    assert m["final_fraction"].tolist() == [1.0, 0.8] and m["final_return"].tolist() == [-4, -12]
    assert m["auc_return"][0] == pytest.approx((-20 * 128 - 8 * 128 - 4 * 744) / 1000)


def test_a_run_stopped_at_a_lower_threshold_cannot_say_when_it_reaches_a_higher_one():
    m = metrics.curve_metrics(STEPS, FRACTION, RETURN, 1000, threshold=0.9)
    assert np.isnan(m["steps_to_095"]).all() and m["steps_to_090"].tolist() == [128, 1000]


def test_mismatched_curves_are_refused():
    with pytest.raises(ValueError, match="do not match 4 evaluations"):
        metrics.curve_metrics(STEPS, FRACTION, RETURN[:, :1], 1000)


def test_the_area_of_a_frozen_agent_does_not_depend_on_how_long_its_population_ran():
    # a converged agent keeps its value; a population that ran longer recorded it more often
    v, budget = -1003 / 63, 400_000  # a mean return over 63 start cells
    short_steps = np.arange(0, 128 * 40, 128)
    long_steps = np.arange(0, 128 * 900, 128)
    learning = np.array([-20.0, -9.5, -7.25])
    short = np.r_[learning, np.full(len(short_steps) - 3, v)][:, None]
    long = np.r_[learning, np.full(len(long_steps) - 3, v)][:, None]
    a = metrics.area(short_steps, short, budget)
    b = metrics.area(long_steps, long, budget)
    assert a.tobytes() == b.tobytes()
    expected = math.fsum([-20.0 * 128, -9.5 * 128, -7.25 * 128, v * (budget - 3 * 128)])
    assert a[0] == expected / budget
    # one product per recorded evaluation, as before, differs in the last bits here
    per_point = [math.fsum(c[:, 0] * np.diff(np.append(s, budget))) / budget
                 for s, c in ((short_steps, short), (long_steps, long))]
    assert per_point[0] != per_point[1]
