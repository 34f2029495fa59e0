"""Cached and merged population training: merging changes nothing, the cache is keyed on
every input and never trusts a file that does not fit its job."""

import dataclasses

import numpy as np
import pytest
import torch

from cliprl_helpers.core import artifacts, dqn, training

CFG = dqn.DQNConfig(hidden=16, envs_per_agent=8, buffer_size=1024, batch_size=32,
                    learning_starts=64, eps_decay_steps=1500, budget_steps=12_000, eval_every=4)


def job(goals, seeds, init_seeds, label="t", cfg=CFG):
    return training.Job(5, goals, seeds, dqn.init_params(5, cfg.hidden, init_seeds), cfg,
                        label=label)


def same(a: dqn.TrainResult, b: dqn.TrainResult):
    np.testing.assert_array_equal(a.steps_to_converge, b.steps_to_converge)
    np.testing.assert_array_equal(a.curve_steps, b.curve_steps)
    np.testing.assert_array_equal(a.curve, b.curve)
    np.testing.assert_array_equal(a.initial_fraction, b.initial_fraction)
    for k in dqn.PARAM_NAMES:
        assert torch.equal(a.params[k], b.params[k])


def alone(j: training.Job) -> dqn.TrainResult:
    return dqn.train_population(j.world, j.goals, j.seeds, j.config, params=j.params,
                                progress=False)


def test_merged_jobs_get_what_they_get_alone_and_duplicates_train_once(tmp_path, monkeypatch):
    a = job([(0, 0), (0, 4)], [1, 2], [0, 0], "a")
    b = job([(0, 4), (2, 2), (0, 0)], [2, 3, 1], [0, 1, 0], "b")  # agents 0, 2 repeat a's
    sizes = []
    real = training.train_population
    monkeypatch.setattr(training, "train_population",
                        lambda *args, **kw: sizes.append(len(args[1])) or real(*args, **kw))
    ra, rb = training.train_jobs([a, b], cache_dir=tmp_path, progress=False)
    assert sizes == [3]  # one population of the 3 distinct agents
    same(ra, alone(a))
    same(rb, alone(b))


def test_cache_hits_on_same_inputs_and_misses_on_any_change(tmp_path, monkeypatch):
    a = job([(0, 0)], [1], [0])
    first = training.train_jobs([a], cache_dir=tmp_path, progress=False)[0]
    monkeypatch.setattr(training, "train_population",
                        lambda *a, **k: pytest.fail("trained although cached"))
    same(training.train_jobs([a], cache_dir=tmp_path, progress=False)[0], first)
    monkeypatch.undo()
    changed = [
        job([(0, 1)], [1], [0]),  # goal
        job([(0, 0)], [2], [0]),  # seed
        job([(0, 0)], [1], [5]),  # initial weights
        job([(0, 0)], [1], [0], cfg=dataclasses.replace(CFG, learning_rate=2e-2)),
    ]
    for c in changed:
        assert c.key() != a.key()
    bumped = a.key()
    monkeypatch.setattr(training, "TRAINER_VERSION", dqn.TRAINER_VERSION + 1)
    assert a.key() != bumped


@pytest.mark.parametrize("damage, why", [
    (lambda t: t.update(W1=t["W1"][:1]), r"params\['W1'\] has shape \(1, 25, 16\), expected "
                                         r"\(2, 25, 16\)"),
    (lambda t: t.update(curve=t["curve"][:, :1]), "learning curve"),
    (lambda t: t["b2"].fill_(float("nan")), "NaN"),
    (lambda t: t.pop("censored"), "censored is missing"),
])
def test_a_cached_result_that_does_not_fit_its_job_is_retrained_with_a_warning(tmp_path, damage,
                                                                               why):
    a = job([(0, 0), (0, 1)], [1, 2], [0, 0])
    [first] = training.train_jobs([a], cache_dir=tmp_path, progress=False)
    t, meta = artifacts.load(tmp_path, a.name())
    damage(t)
    artifacts.save(tmp_path, a.name(), t, meta)
    with pytest.warns(UserWarning, match=why):
        [again], cached = training.train_jobs([a], cache_dir=tmp_path, progress=False,
                                              report_cached=True)
    assert cached == [False]
    assert again.steps_to_converge.tolist() == first.steps_to_converge.tolist()
    [third], cached = training.train_jobs([a], cache_dir=tmp_path, progress=False,
                                          report_cached=True)
    assert cached == [True]  # the retrained result replaced the damaged file


@pytest.mark.parametrize("kwargs, match", [
    ({"goals": [(0, 0)], "seeds": [1, 2]}, "one seed per goal"),
    ({"goals": [(9, 9)], "seeds": [1]}, "goal"),
])
def test_bad_jobs_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        training.Job(5, kwargs["goals"], kwargs["seeds"], dqn.init_params(5, 16, [0]), CFG)


def test_a_job_with_initial_weights_of_another_grid_is_refused():
    with pytest.raises(ValueError, match=r"initial params\['W1'\] has shape \(1, 16, 16\), "
                                         r"expected \(1, 25, 16\)"):
        training.Job(5, [(0, 0)], [1], dqn.init_params(4, 16, [0]), CFG)
