"""A task as tables (mdp.py): GoalGrid's tables, the optimal actions, the trainer's batched twin."""

import numpy as np
import pytest
import torch

from cliprl_helpers.core import mdp, tasks
from cliprl_helpers.core.envs import BatchedGoalGrid


@pytest.mark.parametrize("size,goal", [(4, (0, 3)), (6, (2, 2)), (8, (7, 0)), (10, (0, 7))])
def test_goal_grid_tables_give_chapter_ones_optimal_actions(size, goal):
    table = mdp.GridWorld(size).table(goal)
    np.testing.assert_array_equal(table.optimal(), tasks.optimal_action_mask(size, goal))
    g = goal[0] * size + goal[1]
    assert not table.starts[g] and table.starts.sum() == size * size - 1
    assert (table.reward == mdp.STEP_REWARD).all()
    d = table.steps_to_success()
    manhattan = [abs(r - goal[0]) + abs(c - goal[1]) for r in range(size) for c in range(size)]
    np.testing.assert_array_equal(d[table.starts], np.array(manhattan)[table.starts])


def test_optimal_actions_by_hand_on_a_three_state_chain():
    # states 0 - 1 - 2; action 0 moves left, 1 right, 2 "done" (success only in state 2),
    # 3 stays. Episode ends on done anywhere.
    nxt = np.array([[0, 1, 0, 0], [0, 2, 1, 1], [1, 2, 2, 2]])
    term = np.zeros((3, 4), bool)
    term[:, 2] = True
    success = np.zeros((3, 4), bool)
    success[2, 2] = True
    t = mdp.TaskTable(nxt, np.where(success, 1.0, 0.0).astype(np.float32), term, success,
                      np.ones(3, bool))
    np.testing.assert_array_equal(t.steps_to_success(), [3, 2, 1])
    np.testing.assert_array_equal(t.optimal(), [[0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])


def test_bad_tables_are_refused():
    ok = dict(next_state=np.zeros((2, 4), np.int64), reward=np.zeros((2, 4), np.float32),
              terminal=np.ones((2, 4), bool), success=np.ones((2, 4), bool),
              starts=np.ones(2, bool))
    with pytest.raises(ValueError, match="success implies terminal"):
        mdp.TaskTable(**{**ok, "terminal": np.zeros((2, 4), bool)})
    with pytest.raises(ValueError, match="state indices in 0..1"):
        mdp.TaskTable(**{**ok, "next_state": np.full((2, 4), 5)})
    with pytest.raises(ValueError, match=r"reward must have shape \(2, 4\)"):
        mdp.TaskTable(**{**ok, "reward": np.zeros((2, 3), np.float32)})
    never = mdp.TaskTable(**{**ok, "success": np.zeros((2, 4), bool)})
    with pytest.raises(ValueError, match="cannot reach success"):
        never.optimal()
    with pytest.raises(ValueError, match="grid size must be an integer >= 2"):
        mdp.as_world(1)


def test_batched_tables_step_for_step_like_the_goal_grid_twin():
    """The trainer's engine on GoalGrid's tables = chapter 1's BatchedGoalGrid, bit for bit
    (starts from the same uniforms included): GoalGrid's numbers cannot move."""
    n, n_envs = 6, 64
    rng = np.random.default_rng(1)
    goals = [(int(r), int(c)) for r, c in rng.integers(0, n, size=(4, 2))]
    world = mdp.GridWorld(n)
    task = rng.integers(0, 4, n_envs)
    ours = mdp.BatchedTables([world.table(g) for g in goals], task, max_steps=9)
    ref = BatchedGoalGrid(n, [goals[k][0] * n + goals[k][1] for k in task], max_steps=9)
    u = torch.rand(n_envs, generator=torch.Generator().manual_seed(0))
    assert torch.equal(ours.reset(u), ref.reset(u=u))
    for _ in range(300):
        a = torch.as_tensor(rng.integers(0, 4, n_envs))
        s1, te1, tr1 = ours.step_unchecked(a)
        s2, _, te2, tr2 = ref.step_unchecked(a)
        assert torch.equal(s1, s2) and torch.equal(te1, te2) and torch.equal(tr1, tr2)
        u = torch.rand(n_envs)
        assert torch.equal(ours.reset_done(te1 | tr1, u), ref.reset_done(te2 | tr2, u))


def _rollout_return(table, greedy, cap):
    """Mean return of ``greedy`` over the start states, stepping one step at a time."""
    out = []
    for s in np.flatnonzero(table.starts):
        total = 0.0
        for _ in range(cap):
            a = int(greedy[s])
            total += float(table.reward[s, a])
            if table.terminal[s, a]:
                break
            s = int(table.next_state[s, a])
        out.append(total)
    return float(np.mean(out))


def test_greedy_return_equals_a_step_by_step_rollout():
    world = mdp.GridWorld(7)
    goals = [(0, 0), (3, 4), (6, 6)]
    tables = [world.table(g) for g in goals]
    env = mdp.BatchedTables(tables, [0, 1, 2], world.max_steps)
    greedy = torch.randint(0, 4, (6, 49), generator=torch.Generator().manual_seed(1))
    task = torch.tensor([0, 1, 2, 1, 0, 2])
    got = env.greedy_return(greedy, task)
    assert got.dtype == torch.float64
    want = [_rollout_return(tables[int(k)], greedy[p].numpy(), world.max_steps)
            for p, k in enumerate(task)]
    assert got.tolist() == want
    # an optimal policy's return is minus the mean shortest distance; a policy that never
    # reaches the goal is capped at -max_steps from every start state
    t = tables[1]
    best = torch.as_tensor(t.optimal().argmax(1))[None]
    assert env.greedy_return(best, torch.tensor([1])).item() == -t.steps_to_success()[
        t.starts].mean()
    up = torch.zeros(1, 49, dtype=torch.int64)  # always up: never reaches row 6
    assert env.greedy_return(up, torch.tensor([2])).item() == -world.max_steps


def test_greedy_return_reads_the_tables_rewards_and_terminal_failures():
    # the three-state chain: "done" (action 2) ends the episode, succeeding only in state 2
    nxt = np.array([[0, 1, 0, 0], [0, 2, 1, 1], [1, 2, 2, 2]])
    term = np.zeros((3, 4), bool)
    term[:, 2] = True
    success = np.zeros((3, 4), bool)
    success[2, 2] = True
    reward = np.where(success, 1.0, -0.25).astype(np.float32)
    t = mdp.TaskTable(nxt, reward, term, success, np.ones(3, bool))
    env = mdp.BatchedTables([t], [0], max_steps=5)
    right_then_done = torch.tensor([[1, 1, 2]])  # 0: -0.25 -0.25 +1, 1: -0.25 +1, 2: +1
    assert env.greedy_return(right_then_done, torch.tensor([0])).item() == (0.5 + 0.75 + 1) / 3
    stay = torch.tensor([[3, 3, 3]])  # capped at 5 steps of -0.25 everywhere
    assert env.greedy_return(stay, torch.tensor([0])).item() == -1.25
    give_up = torch.tensor([[2, 2, 2]])  # done away from state 2: a failed terminal step
    assert env.greedy_return(give_up, torch.tensor([0])).item() == (-0.25 - 0.25 + 1) / 3
