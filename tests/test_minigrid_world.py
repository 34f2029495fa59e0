"""Chapter 7's Minigrid room: the env is Minigrid's, the trainer's table is Minigrid's step."""

import env_suite
import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from minigrid.core.actions import Actions
from minigrid.envs.gotoobject import GoToObjectEnv

import cliprl_helpers
from cliprl_helpers.core import dqn
from cliprl_helpers.core import minigrid_world as mw
from cliprl_helpers.core.mdp import BatchedTables


def test_actions_are_minigrids_own():
    assert mw.MINIGRID_ACTIONS == (Actions.left, Actions.right, Actions.forward, Actions.done)


@pytest.mark.parametrize("kind", mw.LAYOUTS)
def test_registered_env_passes_check_env_and_is_minigrids_goto(kind):
    env = gym.make(cliprl_helpers.ROOM_ENV_ID, layout=kind, instruction="go to the green box",
                   render_mode="rgb_array")
    assert isinstance(env.unwrapped, GoToObjectEnv)
    check_env(env.unwrapped, skip_render_check=True)
    env.reset(seed=3)
    assert env.unwrapped.mission == "go to the green box"
    img = env.render()
    assert img.shape == (9 * 32, 9 * 32, 3)  # Minigrid's own renderer, 32 px tiles
    r, c = mw.layout(kind)["go to the green box"]
    obj = env.unwrapped.grid.get(c, r)
    assert (obj.type, obj.color) == ("box", "green")


def test_layouts():
    by_colour = mw.layout("by_colour")
    assert len(by_colour) == 9 and len(set(by_colour.values())) == 9
    # each colour in its own corner: red top-left, blue top-right, green bottom-left
    for instr, (r, c) in by_colour.items():
        colour = instr.split()[-2]
        assert {"red": r < 4 and c < 4, "blue": r < 4 and c > 4,
                "green": r > 4 and c < 4}[colour], instr
    placed = mw.layout("minigrid", seed=0)
    assert placed == mw.layout("minigrid", seed=0) != mw.layout("minigrid", seed=1)
    assert list(placed) == list(by_colour)  # the same nine tasks, in the same order
    for lay in (by_colour, placed, mw.layout("minigrid", seed=5)):
        assert mw._connected(9, lay.values())


@pytest.mark.parametrize("bad,match", [
    (lambda: mw.layout("diagonal"), "unknown layout 'diagonal'"),
    (lambda: mw.Room("by_colour", 8), "room size must be an integer >= 9"),
    (lambda: mw.Room("minigrid", 9, -1), "layout seed must be an integer >= 0"),
    (lambda: mw.ObjectRoomEnv(instruction="go to the pink cone"),
     "unknown instruction 'go to the pink cone'"),
    (lambda: mw.Room().check_goal((4, 4)), r"goal \(4, 4\) is not an object"),
])
def test_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


@pytest.mark.parametrize("kind", mw.LAYOUTS)
def test_the_table_replays_minigrid_step_for_step(kind):
    """Random rollouts in Minigrid and in the table extracted from it: same state, end of
    episode and success at every step, across many episodes and every task."""
    room = mw.Room(kind)
    rng = np.random.default_rng(0)
    n_steps = n_success = 0
    for instr, goal in room.objects.items():
        table = room.table(goal)
        twin = BatchedTables([table], [0], max_steps=30)
        env = mw.ObjectRoomEnv(layout=kind, instruction=instr, max_steps=30)
        for _episode in range(40):
            env.reset(seed=int(rng.integers(1 << 30)))
            assert table.starts[mw.state_of(env)]
            twin.reset(torch.zeros(1))
            twin.cells = torch.tensor([mw.state_of(env)])
            for _t in range(30):
                before, a = mw.state_of(env), int(rng.choice(4, p=[0.3, 0.3, 0.3, 0.1]))
                _, reward, term, trunc, _ = env.step(mw.MINIGRID_ACTIONS[a])
                s, te, tr = twin.step_unchecked(torch.tensor([a]))
                assert int(s[0]) == mw.state_of(env) and bool(te[0]) == term
                assert bool(tr[0]) == (trunc and not term)
                assert bool(table.success[before, a]) == (reward > 0)
                n_steps += 1
                n_success += reward > 0
                if term or trunc:
                    break
    assert n_steps > 2000 and n_success > 5


def test_success_is_done_beside_the_object_and_nowhere_else():
    room = mw.Room("by_colour")
    goal = room.objects["go to the red ball"]
    t = room.table(goal)
    cells = {divmod(s // 4, 9) for s in np.flatnonzero(t.success[:, 3])}
    beside = {(goal[0] + dr, goal[1] + dc) for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1))}
    free = {c for c in beside if c not in set(room.objects.values()) and 0 < min(c)
            and max(c) < room.size - 1}  # not an object, not the wall
    assert cells == free and cells
    assert t.success[:, :3].sum() == 0 and t.terminal[:, 3][t.starts].all()
    np.testing.assert_allclose(t.reward[t.success], 1 - 0.9 / room.max_steps, rtol=1e-6)


def test_the_population_trainer_learns_a_minigrid_task_exactly():
    room = mw.Room("by_colour")
    goals = [room.objects["go to the blue key"], room.objects["go to the green ball"]]
    cfg = dqn.DQNConfig(learning_rate=3e-3, budget_steps=80_000)
    res = dqn.train_population(room, goals, [0, 1], cfg, progress=False)
    assert not res.censored.any() and (res.steps_to_converge > 0).all()
    greedy = dqn.greedy_actions(res.params)
    for i, g in enumerate(goals):
        opt = room.table(g).optimal()
        starts = room.table(g).starts
        assert opt[np.flatnonzero(starts), greedy[i][starts].numpy()].all()


def test_the_room_passes_the_checks_of_minigrids_env_suite():
    env_suite.all_checks(cliprl_helpers.ROOM_ENV_ID, layout="by_colour",
                         instruction="go to the green box")
    assert gym.spec(cliprl_helpers.ROOM_ENV_ID).entry_point == \
        "cliprl_helpers.core.minigrid_world:ObjectRoomEnv"
