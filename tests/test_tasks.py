"""Instructions -> goals, exact distances and optimal-action masks."""

import numpy as np
import pytest

from cliprl_helpers.core import tasks
from cliprl_helpers.core.tasks import (
    DOWN,
    LEFT,
    PAPER_BASE_INSTRUCTIONS,
    RIGHT,
    UP,
    distances,
    goal_for,
    optimal_action_mask,
    paper_tasks,
)


def test_paper_goals_on_10x10_match_the_paper():
    tasks = paper_tasks(10)
    assert tasks.bases == {"top left first": (0, 0), "top left second": (0, 1),
                           "top right first": (0, 9), "top right second": (0, 8)}
    # the paper: "For the target task, the goal is positioned at (0, 7)"
    assert (tasks.target, tasks.target_goal) == ("top left third", (0, 7))
    assert list(tasks.bases) == list(PAPER_BASE_INSTRUCTIONS)


@pytest.mark.parametrize("n", [8, 10, 15, 25])
def test_both_readings_place_the_target_at_n_minus_3(n):
    printed = paper_tasks(n, reading="as_printed")
    consistent = paper_tasks(n, reading="self_consistent")
    assert printed.target == "top left third" and consistent.target == "top right third"
    assert printed.target_goal == consistent.target_goal == (0, n - 3)
    # the self-consistent name really means that cell under the instruction grammar
    assert goal_for(consistent.target, n) == (0, n - 3)
    # while the printed name, read literally, means a different cell: the oddity
    assert goal_for(printed.target, n) == (0, 2) != printed.target_goal


def test_goal_for_grammar():
    assert goal_for("top left first", 5) == (0, 0)
    assert goal_for("Top Right Third", 8) == (0, 5)
    assert goal_for("  top right first ", 3) == (0, 2)


def test_distances_are_manhattan_on_an_open_grid():
    n, goal = 7, (2, 5)
    rows, cols = np.indices((n, n))
    expected = np.abs(rows - goal[0]) + np.abs(cols - goal[1])
    np.testing.assert_array_equal(distances(n, goal), expected)


def test_optimal_action_mask_by_hand():
    # 3x3 grid, goal at the top-left corner
    mask = optimal_action_mask(3, (0, 0))
    assert mask.shape == (9, 4)
    assert not mask[0].any()  # the goal itself
    assert mask[1].tolist() == [False, False, False, True]  # (0,1): only left
    assert mask[3].tolist() == [True, False, False, False]  # (1,0): only up
    assert mask[4].tolist() == [True, False, False, True]  # (1,1): up or left
    assert mask[8, UP] and mask[8, LEFT] and not mask[8, DOWN] and not mask[8, RIGHT]


@pytest.mark.parametrize("n,goal", [(8, (0, 5)), (10, (0, 7)), (5, (4, 4)), (6, (3, 2))])
def test_every_non_goal_cell_has_an_optimal_action(n, goal):
    mask = optimal_action_mask(n, goal)
    g = goal[0] * n + goal[1]
    assert mask.any(axis=1).sum() == n * n - 1 and not mask[g].any()


@pytest.mark.parametrize("bad", [1, 0, -3, 2.5, "10", None, True])
def test_bad_size_raises(bad):
    with pytest.raises(ValueError, match="grid size must be an integer >= 2"):
        distances(bad, (0, 0))


@pytest.mark.parametrize("bad", [(0, 10), (-1, 0), (10, 10), (0,), (0, 1, 2), "ab", 3, (0.5, 1)])
def test_bad_goal_raises(bad):
    with pytest.raises(ValueError, match="goal"):
        distances(10, bad)


@pytest.mark.parametrize("bad", ["go to the red cone", "top middle first", "top left zeroth",
                                 "", 42])
def test_unknown_instruction_raises(bad):
    with pytest.raises(ValueError, match="unknown instruction.*allowed are"):
        goal_for(bad, 10)


def test_instruction_past_the_edge_raises():
    with pytest.raises(ValueError, match="only 4 cells"):
        goal_for("top left fifth", 4)


def test_unknown_reading_raises():
    with pytest.raises(ValueError, match="unknown reading 'literal'.*as_printed, self_consistent"):
        paper_tasks(10, reading="literal")


def test_optimal_policy_picks_an_optimal_action_everywhere_but_the_goal():
    size, goal = 7, (0, 4)
    policy = tasks.optimal_policy(size, goal)
    mask = tasks.optimal_action_mask(size, goal)
    goal_index = goal[0] * size + goal[1]
    cells = np.arange(size * size) != goal_index
    assert mask[np.arange(size * size), policy][cells].all()
