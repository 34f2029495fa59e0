"""Base policies: one Job per trial in the one cache of trained populations; a trial loads
instead of retraining, a changed setting retrains."""

import numpy as np
import pytest
import torch

from cliprl_helpers.core import base_policies, dqn, tasks

TINY = dqn.DQNConfig(hidden=16, envs_per_agent=8, buffer_size=1024, batch_size=32,
                     learning_starts=64, eps_decay_steps=1500, budget_steps=12_000,
                     eval_every=4)


def test_base_policies_cache_loads_instead_of_retraining(tmp_path):
    bases = {"top left first": (0, 0), "top right first": (0, 4)}
    first = base_policies.train_base_policies(5, bases, [0, 1], TINY, cache_dir=tmp_path,
                                              progress=False)
    assert first.from_cache == [False, False]
    assert first.params["W1"].shape == (2, 2, 25, 16)
    again = base_policies.train_base_policies(5, bases, [1], TINY, cache_dir=tmp_path,
                                              progress=False)
    assert again.from_cache == [True]
    torch.testing.assert_close(again.params["W1"][0], first.params["W1"][1])
    assert again.table.steps_to_converge.tolist() == first.table.steps_to_converge[2:].tolist()
    # a changed parameter retrains
    other = dqn.DQNConfig(**{**TINY.to_dict(), "learning_rate": 1e-3})
    changed = base_policies.train_base_policies(5, bases, [1], other, cache_dir=tmp_path,
                                                progress=False)
    assert changed.from_cache == [False]
    # shared init: every base task of a trial started from the same network
    assert first.table.censored.sum() == 0


def test_a_trial_does_not_depend_on_the_trials_trained_beside_it(tmp_path):
    bases = {"top left first": (0, 0), "top right first": (0, 4)}
    together = base_policies.train_base_policies(5, bases, [0, 1, 2], TINY,
                                                 cache_dir=tmp_path / "a", progress=False)
    alone = base_policies.train_base_policies(5, bases, [1], TINY, cache_dir=tmp_path / "b",
                                              progress=False)
    for k in dqn.PARAM_NAMES:
        assert alone.params[k][0].equal(together.params[k][1]), k
    got = together.curves[1, :len(alone.curve_steps)]
    np.testing.assert_array_equal(alone.curves[0], got)  # each trial's own curve, NaN after
    assert together.table.columns.tolist()[:4] == ["trial", "trial_seed", "instruction", "goal"]


def test_subset_keeps_the_trained_policies_of_the_chosen_instructions(tmp_path):
    bases = dict(list(tasks.paper_tasks(5).bases.items())[:3])
    bp = base_policies.train_base_policies(5, bases, [0], TINY, cache_dir=tmp_path,
                                           progress=False)
    names = list(bases)
    sub = bp.subset([names[2], names[0]])
    assert sub.instructions == [names[2], names[0]] and sub.goals == [bp.goals[2], bp.goals[0]]
    assert sub.params["W1"][0, 0].equal(bp.params["W1"][0, 2])
    with pytest.raises(ValueError, match="are not among the trained bases"):
        bp.subset(["top left third"])


def test_agent_seeds_are_distinct_per_role_and_index():
    seeds = {base_policies.agent_seed(s, r, i) for s in range(3) for r in ("base", "target")
             for i in range(5)}
    assert len(seeds) == 30
    assert base_policies.agent_seed(1, "base", 2) == 100_003 + 1_009 + 62
    with pytest.raises(ValueError, match="unknown role 'other'"):
        base_policies.agent_seed(0, "other", 0)
