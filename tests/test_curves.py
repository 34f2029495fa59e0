"""Learning curves as tidy tables, checked against a hand-written one."""

import numpy as np

from cliprl_helpers.core import curves


def test_curves_frame_by_hand_with_the_last_value_carried_forward():
    steps = np.array([0, 128, 256])
    c = np.array([[[0.1, 0.2], [0.5, 1.0], [1.0, np.nan]]])  # (1 trial, 3 evals, 2 series)
    f = curves.curves_frame(steps, c, ["a", "b"])
    assert f.columns.tolist() == ["trial", "task", "env_steps", "optimal_fraction"]
    assert f.task.tolist() == ["a"] * 3 + ["b"] * 3
    assert f.env_steps.tolist() == [0, 128, 256] * 2
    assert f.optimal_fraction.tolist() == [0.1, 0.5, 1.0, 0.2, 1.0, 1.0]  # b stopped: 1.0 kept
    two = curves.curves_frame(steps, np.concatenate([c, c]), ["a", "b"], label_name="method")
    assert two.trial.tolist() == [0] * 6 + [1] * 6 and "method" in two
