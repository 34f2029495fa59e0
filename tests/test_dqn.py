"""The population DQN: independence, the exact metric, initialisation, bad input."""

import numpy as np
import pytest
import torch

from cliprl_helpers.core import dqn, mdp, tasks

SMALL = dict(hidden=16, envs_per_agent=8, buffer_size=1024, batch_size=32,
             learning_starts=64, eps_decay_steps=1500, budget_steps=12_000, eval_every=4)


def test_optimal_fraction_exact_on_hand_built_q_tables():
    size, goal = 4, (0, 3)
    masks, non_goal = dqn.optimal_masks(size, [goal, goal])
    params = dqn.init_params(size, 8, [0, 1])
    # make the network output a chosen Q table: h = relu(W1[s]) one-hot-ish, W2 = identity-ish
    H = 8
    W1 = torch.zeros(2, 16, H)
    W2 = torch.zeros(2, H, 4)
    W2[:, :4, :] = torch.eye(4)
    policy = torch.as_tensor(tasks.optimal_policy(size, goal))
    W1[0, torch.arange(16), policy] = 1.0  # agent 0: optimal everywhere
    wrong = policy.clone()
    wrong[[0, 4]] = tasks.LEFT  # agent 1: two cells wrong (LEFT never reduces distance here)
    W1[1, torch.arange(16), wrong] = 1.0
    params = {"W1": W1, "b1": torch.zeros(2, H), "W2": W2, "b2": torch.zeros(2, 4)}
    frac = dqn.optimal_fraction(params, masks, non_goal)
    assert frac[0].item() == 1.0
    assert frac[1].item() == pytest.approx(13 / 15)


def _train(goals, seeds, init, cfg):
    return dqn.train_population(5, goals, seeds, cfg, params=init, progress=False)


def test_population_agents_learn_exactly_as_if_alone():
    cfg = dqn.DQNConfig(**SMALL)
    goals = [(0, 0), (0, 4), (0, 2), (0, 1)]
    seeds = [10, 11, 12, 13]
    init = dqn.init_params(5, cfg.hidden, [0, 0, 1, 1])
    pop = _train(goals, seeds, init, cfg)
    assert not pop.censored.any()
    for i in range(len(goals)):
        alone = _train([goals[i]], [seeds[i]], {k: v[i:i + 1] for k, v in init.items()}, cfg)
        assert alone.steps_to_converge[0] == pop.steps_to_converge[i]
        torch.testing.assert_close(dqn.greedy_actions(alone.params)[0],
                                   dqn.greedy_actions(pop.params)[i], rtol=0, atol=0)
        torch.testing.assert_close(alone.params["W2"][0], pop.params["W2"][i])


def test_converged_policy_is_optimal_and_curve_reaches_threshold():
    cfg = dqn.DQNConfig(**SMALL)
    res = _train([(0, 3)], [5], None, cfg)
    assert not res.censored[0]
    greedy = dqn.greedy_actions(res.params)[0].numpy()
    mask = tasks.optimal_action_mask(5, (0, 3))
    cells = mask.any(1)
    assert mask[np.arange(25), greedy][cells].all()
    assert res.curve[-1, 0] == 1.0 and res.curve[0, 0] < 1.0
    assert res.curve_steps[0] == 0 and res.steps_to_converge[0] in res.curve_steps


def test_budget_exhausted_is_censored_not_dropped():
    cfg = dqn.DQNConfig(**{**SMALL, "budget_steps": 64})
    res = _train([(0, 0), (2, 2)], [1, 2], None, cfg)
    assert res.censored.all()
    assert (res.steps_to_converge == 64).all()
    assert np.isnan(res.converge_wall_s).all()


def test_already_optimal_start_converges_at_zero_steps():
    cfg = dqn.DQNConfig(**SMALL)
    trained = _train([(0, 3)], [5], None, cfg)
    again = _train([(0, 3)], [6], trained.params, cfg)
    assert again.steps_to_converge[0] == 0 and not again.censored[0]
    assert again.initial_fraction[0] == 1.0


def test_shared_and_independent_init():
    shared = dqn.init_seeds([0, 1], 3, "shared")
    assert shared == [0, 0, 0, 1, 1, 1]
    indep = dqn.init_seeds([0, 1], 3, "independent")
    assert len(set(indep)) == 6
    p = dqn.init_params(4, 8, shared)
    torch.testing.assert_close(p["W1"][0], p["W1"][2])
    assert not torch.equal(p["W1"][0], p["W1"][3])


@pytest.mark.parametrize("kwargs, match", [
    ({"learning_rate": -1e-3}, "learning_rate must be a finite number > 0"),
    ({"learning_rate": 0.0}, "learning_rate must be a finite number > 0"),
    ({"buffer_size": 16, "batch_size": 32}, r"buffer_size \(16\) must be >= batch_size"),
    ({"eps_start": 1.5}, r"eps_start must be a finite number in \[0, 1\]"),
    ({"eps_end": -0.1}, r"eps_end must be a finite number in \[0, 1\]"),
    ({"budget_steps": 0}, "budget_steps must be an integer >= 1"),
    ({"budget_steps": -5}, "budget_steps must be an integer >= 1"),
    ({"gamma": 0.0}, r"gamma must be a finite number in \(0, 1\]"),
    ({"threshold": 1.2}, r"threshold must be a finite number in \(0, 1\]"),
    ({"hidden": 0}, "hidden must be an integer >= 1"),
])
def test_bad_config_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dqn.DQNConfig(**kwargs)


def test_unknown_init_mode_raises():
    with pytest.raises(ValueError, match="unknown init mode 'random'.*shared, independent"):
        dqn.init_seeds([0], 4, "random")


def test_mismatched_population_raises():
    cfg = dqn.DQNConfig(**SMALL)
    with pytest.raises(ValueError, match="2 goals but 1 seeds"):
        dqn.train_population(5, [(0, 0), (0, 1)], [0], cfg, progress=False)
    with pytest.raises(ValueError, match="initial params"):
        dqn.train_population(5, [(0, 0)], [0], cfg, params=dqn.init_params(4, 16, [0]),
                             progress=False)




def test_greedy_return_curve_goes_with_the_fraction_curve():
    cfg = dqn.DQNConfig(**SMALL)
    res = _train([(0, 3), (4, 4)], [5, 6], None, cfg)
    assert res.return_curve.shape == res.curve.shape
    assert (res.return_curve[0] == res.initial_return).all()
    # converged (every start cell optimal) means the optimal return: minus the mean distance
    for a, goal in enumerate([(0, 3), (4, 4)]):
        t = mdp.GridWorld(5).table(goal)
        assert res.curve[-1, a] == 1.0
        assert res.return_curve[-1, a] == -t.steps_to_success()[t.starts].mean()
    # the initial value is the greedy return of the initial network
    init = dqn.init_params(5, cfg.hidden, [5, 6])
    env = mdp.BatchedTables([mdp.GridWorld(5).table(g) for g in [(0, 3), (4, 4)]], [0, 1], 20)
    want = env.greedy_return(dqn.greedy_actions(init), torch.tensor([0, 1]))
    assert res.initial_return.tolist() == want.tolist()
