"""Steps/second of the batched GoalGrid vs gymnasium's SyncVectorEnv over GoalGridEnv."""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
import torch

from cliprl_helpers.core.envs import BatchedGoalGrid, GoalGridEnv, GoalGridVectorEnv


def _rate(step, actions: np.ndarray, min_seconds: float) -> float:
    """Env steps per second (summed over envs) of ``step`` fed the rows of ``actions``."""
    n_envs = actions.shape[1]
    done_steps, t0 = 0, time.perf_counter()
    while True:
        for row in actions:
            step(row)
        done_steps += actions.shape[0] * n_envs
        elapsed = time.perf_counter() - t0
        if elapsed >= min_seconds:
            return done_steps / elapsed


def bench_env(num_envs: int = 1024, size: int = 10, min_seconds: float = 2.0) -> dict:
    """Measure both in one run and return their rates and ratio."""
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 4, size=(50, num_envs))
    goal = (0, size - 3)

    sync = gym.vector.SyncVectorEnv([lambda: GoalGridEnv(size, goal)] * num_envs)
    sync.reset(seed=0)
    sync_rate = _rate(sync.step, actions, min_seconds)

    vec = GoalGridVectorEnv(num_envs, size, goal=goal)
    vec.reset(seed=0)
    vec_rate = _rate(vec.step, actions, min_seconds)

    core = BatchedGoalGrid(size, [goal[0] * size + goal[1]] * num_envs)
    gen = torch.Generator().manual_seed(0)
    core.reset(u=torch.rand(num_envs, generator=gen))
    t_actions = torch.from_numpy(actions)

    def core_step(a):
        _, _, term, trunc = core.step(a)
        core.reset_done(term | trunc, torch.rand(num_envs, generator=gen))

    core_rate = _rate(core_step, t_actions, min_seconds)
    return {"num_envs": num_envs, "size": size, "sync_steps_per_s": sync_rate,
            "vector_steps_per_s": vec_rate, "core_steps_per_s": core_rate,
            "vector_over_sync": vec_rate / sync_rate, "core_over_sync": core_rate / sync_rate}


def report(r: dict) -> str:
    return (
        f"env stepping, {r['num_envs']} envs on {r['size']}x{r['size']}:\n"
        f"  SyncVectorEnv(GoalGridEnv)      {r['sync_steps_per_s']:>14,.0f} steps/s\n"
        f"  GoalGridVectorEnv (vector API)  {r['vector_steps_per_s']:>14,.0f} steps/s"
        f"  -> {r['vector_over_sync']:.0f}x\n"
        f"  BatchedGoalGrid (torch core)    {r['core_steps_per_s']:>14,.0f} steps/s"
        f"  -> {r['core_over_sync']:.0f}x\n"
    )
