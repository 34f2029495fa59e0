"""GoalGridEnv, its batched twin and the vector API."""

import env_suite
import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import cliprl_helpers  # noqa: F401  (registers the env)
from cliprl_helpers.core import envs, tasks
from cliprl_helpers.core.envs import (
    ENV_ID,
    STEP_REWARD,
    BatchedGoalGrid,
    GoalGridEnv,
    GoalGridVectorEnv,
    transition_table,
)
from cliprl_helpers.core.tasks import DOWN, LEFT, RIGHT, UP


def test_check_env_passes():
    check_env(gym.make(ENV_ID, size=10, goal=(0, 7), render_mode="rgb_array").unwrapped,
              skip_render_check=False)


def test_registered_and_made_by_id():
    env = gym.make(ENV_ID, size=10, goal=(0, 7))
    assert env.unwrapped.goal == (0, 7) and env.observation_space.n == 100
    check_env(env.unwrapped)


def test_transitions_walls_and_goal():
    env = GoalGridEnv(size=4, goal=(0, 3))
    obs, _ = env.reset(options={"start": (0, 0)})
    assert obs == 0
    assert env.step(UP)[0] == 0  # wall: stays
    assert env.step(LEFT)[0] == 0
    assert env.step(DOWN)[0] == 4
    obs, reward, term, trunc, _ = env.step(RIGHT)
    assert (obs, reward, term, trunc) == (5, STEP_REWARD, False, False)
    env.reset(options={"start": (0, 2)})
    obs, reward, term, trunc, _ = env.step(RIGHT)
    assert (obs, reward, term, trunc) == (3, -1.0, True, False)


def test_truncation_at_the_step_cap():
    env = GoalGridEnv(size=5, goal=(4, 4), max_steps=3)
    env.reset(options={"start": (0, 0)})
    flags = [env.step(UP)[3] for _ in range(3)]
    assert flags == [False, False, True]


def test_starts_are_uniform_over_non_goal_cells_and_seeded():
    env = GoalGridEnv(size=3, goal=(1, 1))
    starts = [env.reset(seed=s)[0] for s in range(3000)]
    counts = np.bincount(starts, minlength=9)
    assert counts[4] == 0
    assert counts[np.arange(9) != 4].min() > 3000 / 8 * 0.8
    a = [GoalGridEnv(10, (0, 0)).reset(seed=7)[0] for _ in range(3)]
    assert len(set(a)) == 1


def test_render_modes():
    env = GoalGridEnv(size=3, goal=(0, 2), render_mode="ansi")
    env.reset(options={"start": (2, 0)})
    assert env.render() == ". . G\n. . .\nA . .\n"
    img = GoalGridEnv(size=5, goal=(0, 0), render_mode="rgb_array")
    img.reset(seed=0)
    frame = img.render()
    assert frame.shape == (80, 80, 3) and frame.dtype == np.uint8


def test_works_with_standard_wrappers():
    env = gym.make(ENV_ID, size=6, goal=(0, 0))
    env = gym.wrappers.TimeLimit(env, max_episode_steps=5)
    env = gym.wrappers.RecordEpisodeStatistics(env)
    env = gym.wrappers.TransformObservation(
        env, lambda o: np.eye(36, dtype=np.float32)[o],
        gym.spaces.Box(0, 1, (36,), np.float32))
    obs, _ = env.reset(seed=3)
    assert obs.shape == (36,) and obs.sum() == 1
    done, steps = False, 0
    while not done:
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        done, steps = term or trunc, steps + 1
    assert steps <= 5 and "episode" in info and info["episode"]["l"] == steps


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_batched_env_matches_single_envs_step_for_step(backend):
    """Same starts and actions -> identical observations, rewards, terminations, truncations."""
    n, n_envs, horizon = 6, 32, 400
    wrap = torch.from_numpy if backend == "torch" else np.asarray
    rng = np.random.default_rng(0)
    goals = [(int(r), int(c)) for r, c in rng.integers(0, n, size=(n_envs, 2))]
    singles = [GoalGridEnv(n, g, max_steps=12) for g in goals]
    batched = BatchedGoalGrid(n, [r * n + c for r, c in goals], max_steps=12, backend=backend)
    cells = batched.reset(u=wrap(rng.random(n_envs)))
    for env, cell in zip(singles, cells.tolist()):
        env.reset(options={"start": divmod(cell, n)})
    n_done = 0
    for _ in range(horizon):
        actions = rng.integers(0, 4, n_envs)
        obs, rew, term, trunc = batched.step(wrap(actions))
        for i, env in enumerate(singles):
            o, r, te, tr, _ = env.step(int(actions[i]))
            assert (o, r, te, tr) == (int(obs[i]), float(rew[i]), bool(term[i]), bool(trunc[i]))
        done = term | trunc
        n_done += int(done.sum())
        cells = batched.reset_done(done, wrap(rng.random(n_envs)))
        for i in np.flatnonzero(np.asarray(done)):
            singles[i].reset(options={"start": divmod(int(cells[i]), n)})
    assert n_done > 100  # the comparison crossed many episode ends of both kinds


def test_vector_env_next_step_autoreset_matches_sync_vector_env():
    n, num = 5, 8
    starts = [(4, 1 + i % 4) for i in range(num)]  # walking up never reaches (0, 0)
    ours = GoalGridVectorEnv(num, n, goal=(0, 0), max_steps=6)
    sync = gym.vector.SyncVectorEnv([lambda: GoalGridEnv(n, (0, 0), max_steps=6)] * num)
    assert sync.metadata["autoreset_mode"] == ours.metadata["autoreset_mode"]
    o1, _ = ours.reset(seed=0, options={"starts": starts})
    o2 = np.array([e.reset(options={"start": s})[0] for e, s in zip(sync.envs, starts)])
    np.testing.assert_array_equal(o1, o2)
    actions = np.full(num, UP)
    for _ in range(6):  # deterministic until every env truncates at step 6
        r1, r2 = ours.step(actions), sync.step(actions)
        for a, b in zip(r1[:4], r2[:4]):
            np.testing.assert_array_equal(a, b)
    assert r1[3].all() and not r1[2].any()
    after, after_sync = ours.step(actions), sync.step(actions)  # autoreset step
    for res in (after, after_sync):
        assert (res[1] == 0).all() and not res[2].any() and not res[3].any()
        assert (res[0] != 0).all()


def test_vector_env_same_step_reports_final_obs():
    env = GoalGridVectorEnv(2, 3, goal=(0, 0), autoreset_mode=AutoresetMode.SAME_STEP)
    env.reset(seed=0, options={"starts": [(0, 1), (2, 2)]})
    obs, rew, term, trunc, info = env.step(np.array([LEFT, LEFT]))
    assert term.tolist() == [True, False]
    assert info["final_obs"][0] == 0 and obs[0] != 0 and obs[1] == 7


def test_make_vec_uses_the_batched_env():
    envs = gym.make_vec(ENV_ID, num_envs=16, vectorization_mode="vector_entry_point",
                        size=8, goal=(0, 5))
    assert isinstance(envs.unwrapped, GoalGridVectorEnv)
    obs, _ = envs.reset(seed=1)
    assert obs.shape == (16,) and (obs != 5).all()


def test_transition_table_shape():
    t = transition_table(3)
    assert t.shape == (9, 4) and t[4].tolist() == [1, 5, 7, 3]


# ---- bad input --------------------------------------------------------------------------

@pytest.mark.parametrize("size", [1, 0, -2, 3.0, "8", None])
def test_bad_size(size):
    with pytest.raises(ValueError, match=r"grid size must be an integer >= 2, got"):
        GoalGridEnv(size=size)


@pytest.mark.parametrize("goal", [(0, 8), (8, 0), (-1, 2), (1,), 5, "00", (1.0, 2)])
def test_bad_goal(goal):
    with pytest.raises(ValueError, match="goal"):
        GoalGridEnv(size=8, goal=goal)


def test_bad_render_mode():
    with pytest.raises(ValueError, match=r"unknown render_mode 'human': allowed are None, 'ansi'"):
        GoalGridEnv(render_mode="human")


def test_bad_start_and_action():
    env = GoalGridEnv(size=4, goal=(0, 0))
    with pytest.raises(ValueError, match="start .* is the goal"):
        env.reset(options={"start": (0, 0)})
    with pytest.raises(ValueError, match="start"):
        env.reset(options={"start": (9, 9)})
    env.reset(seed=0)
    with pytest.raises(ValueError, match="unknown action 4"):
        env.step(4)


def test_bad_batched_goals_and_vector_args():
    with pytest.raises(ValueError, match="off the 4x4 grid"):
        BatchedGoalGrid(4, [0, 16])
    with pytest.raises(ValueError, match="num_envs must be an integer >= 1"):
        GoalGridVectorEnv(0, 4)
    with pytest.raises(ValueError, match="2 goals for 3 envs"):
        GoalGridVectorEnv(3, 4, goal=[(0, 0), (0, 1)])


def test_episode_lengths_optimal_agent_takes_shortest_paths():
    size, goal = 6, (0, 3)
    lengths = envs.episode_lengths(size, goal, tasks.optimal_policy(size, goal), 500, seed=1)
    dist = tasks.distances(size, goal).reshape(-1)
    # every episode finishes, and the mean matches the mean distance over non-goal cells
    assert (lengths > 0).all()
    assert set(np.unique(lengths)) <= set(np.unique(dist[dist > 0]))
    assert abs(lengths.mean() - dist.sum() / (size * size - 1)) < 0.5


def test_episode_lengths_random_agent_is_censored_not_dropped():
    lengths = envs.episode_lengths(10, (0, 0), None, 300, seed=0, max_steps=5)
    assert lengths.shape == (300,)
    assert (lengths == -1).any()
    assert ((lengths == -1) | ((lengths >= 1) & (lengths <= 5))).all()


def test_episode_lengths_rejects_bad_counts():
    with pytest.raises(ValueError, match="n_episodes"):
        envs.episode_lengths(5, (0, 0), None, 0, seed=0)


def test_goalgrid_passes_the_checks_of_minigrids_env_suite():
    env_suite.all_checks(ENV_ID, size=6)
    spec = gym.spec(ENV_ID)
    assert spec.entry_point == "cliprl_helpers.core.envs:GoalGridEnv"
    assert spec.vector_entry_point == "cliprl_helpers.core.envs:GoalGridVectorEnv"
    vec = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point")
    assert vec.reset(seed=0)[0].shape == (3,)
    vec.close()
