"""The checks of Minigrid's own environment test suite (its ``tests/test_envs.py``) that apply
to a registered gymnasium env, for ``tests/test_envs.py`` and ``tests/test_minigrid_world.py``:
the spec serialises to JSON and round-trips, ``check_env`` passes, a seeded rollout is
deterministic, the env pickles mid-episode, and every declared render mode renders."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import EnvSpec
from gymnasium.utils.env_checker import check_env, data_equivalence


def spec_round_trips(env_id: str) -> None:
    spec = gym.spec(env_id)
    assert isinstance(spec.entry_point, str) and ":" in spec.entry_point, spec.entry_point
    text = spec.to_json()
    again = EnvSpec.from_json(text)
    assert again == spec and again.to_json() == text
    env = gym.make(again)  # a spec read back makes the same env
    assert env.spec.id == env_id
    env.close()


def rollout_is_deterministic(env_id: str, steps: int = 40, **kwargs) -> None:
    envs = [gym.make(env_id, disable_env_checker=True, **kwargs) for _ in range(2)]
    for env in envs:
        env.action_space.seed(0)
    obs = [env.reset(seed=0) for env in envs]
    assert data_equivalence(obs[0], obs[1])
    for _ in range(steps):
        action = envs[0].action_space.sample()
        assert envs[1].action_space.sample() == action
        out = [env.step(action) for env in envs]
        assert data_equivalence(out[0], out[1])
        if out[0][2] or out[0][3]:
            obs = [env.reset(seed=1) for env in envs]
            assert data_equivalence(obs[0], obs[1])
    for env in envs:
        env.close()


def pickles_mid_episode(env_id: str, **kwargs) -> None:
    env = gym.make(env_id, **kwargs)
    env.reset(seed=3)
    env.step(env.action_space.sample())
    copy = pickle.loads(pickle.dumps(env))
    a = env.step(1)
    b = copy.step(1)
    assert data_equivalence(a, b)
    env.close()
    copy.close()


def renders_every_mode(env_id: str, **kwargs) -> None:
    probe = gym.make(env_id, **kwargs)
    modes = probe.unwrapped.metadata["render_modes"]
    probe.close()
    assert modes
    for mode in modes:
        env = gym.make(env_id, render_mode=mode, **kwargs)
        env.reset(seed=0)
        frame = env.render()
        if mode == "rgb_array":
            assert isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3
        elif mode == "ansi":
            assert isinstance(frame, str) and frame
        env.close()


def all_checks(env_id: str, **kwargs) -> None:
    spec_round_trips(env_id)
    check_env(gym.make(env_id, disable_env_checker=True, **kwargs).unwrapped,
              skip_render_check=True)
    rollout_is_deterministic(env_id, **kwargs)
    pickles_mid_episode(env_id, **kwargs)
    renders_every_mode(env_id, **kwargs)
