"""Pictures of the grid: goals where the instructions say, arrows coloured by optimality."""

import matplotlib

matplotlib.use("agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cliprl_helpers.analysis import grid_figures  # noqa: E402
from cliprl_helpers.core import tasks  # noqa: E402


def test_goals_are_drawn_on_their_cells():
    ts = tasks.paper_tasks(10)
    ax = grid_figures.plot_goals(10, {**ts.bases, ts.target: ts.target_goal},
                                 highlight=ts.target)
    drawn = {c.get_label(): tuple(c.get_offsets()[0]) for c in ax.collections}
    for name, (r, c) in {**ts.bases, ts.target: ts.target_goal}.items():
        assert drawn[name] == (c, r)  # x is the column, y the row
    with pytest.raises(ValueError):
        grid_figures.plot_goals(10, {"off the grid": (0, 10)})


def test_wrong_arrows_are_drawn_apart_from_right_ones():
    n, goal = 4, (0, 0)
    mask = tasks.optimal_action_mask(n, goal)  # (n * n, 4)
    best = mask.argmax(1)
    worst = (~mask).argmax(1)
    actions = np.where(np.arange(n * n) % 2 == 0, best, worst)
    correct = mask[np.arange(n * n), actions]
    ax = grid_figures.plot_policy_arrows(n, actions, goal, correct=correct)
    quivers = [c for c in ax.collections if type(c).__name__ == "Quiver"]
    assert [len(q.U) for q in quivers] == [int(correct[1:].sum()), int((~correct[1:]).sum())]
    colours = [tuple(np.round(q.get_facecolor()[0], 3)) for q in quivers]
    assert colours[0] != colours[1]
