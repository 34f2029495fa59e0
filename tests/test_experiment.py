"""The experiment's methods: the paper's, the baselines and the shuffled-pair control."""

import json

import numpy as np
import pytest
import torch

from cliprl_helpers.core import dqn, experiment, mdp, metrics


def test_derangement_moves_every_pair_and_is_seeded():
    for seed in range(20):
        p = experiment.derangement(4, seed)
        assert sorted(p.tolist()) == [0, 1, 2, 3] and not (p == np.arange(4)).any()
    # seeded: the first permutation without a fixed point of numpy's generator for
    # (seed, 0x5EED), the same in every process; other seeds draw other ones
    rng = np.random.default_rng([3, 0x5EED])
    want = rng.permutation(5)
    while (want == np.arange(5)).any():
        want = rng.permutation(5)
    assert experiment.derangement(5, 3).tolist() == want.tolist() == [2, 4, 0, 1, 3]
    assert len({tuple(experiment.derangement(5, s)) for s in range(10)}) > 5
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        experiment.derangement(1, 0)


def test_retrieval_accuracy_by_hand():
    assert experiment.retrieval_accuracy(torch.eye(3)) == 1.0
    swapped = torch.eye(3)[[1, 0, 2]]  # instructions 0 and 1 retrieve each other's policy
    assert experiment.retrieval_accuracy(swapped) == pytest.approx(1 / 3)


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    cfg = dqn.DQNConfig(budget_steps=20_000)
    return experiment.run_grid(5, reading="as_printed", n_trials=2, dqn_config=cfg,
                               cache_dir=tmp_path_factory.mktemp("cache"), progress=False)


def test_every_method_runs_in_the_paired_design(grid):
    t = grid.table
    assert list(dict.fromkeys(t.method)) == list(experiment.METHODS)
    assert len(t) == 2 * len(experiment.METHODS)
    assert list(t.columns) == [
        "grid_size", "target_reading", "trial", "trial_seed", "method", "weighting", "weights",
        "negative_weights", "top_pick_nearest", "align_own_accuracy", "bases_censored",
        "initial_fraction", "steps_to_converge", "censored", "resolution", "budget",
        "initial_return", "steps_to_095", "steps_to_090", "auc_fraction", "auc_return",
        "final_fraction", "final_return", "wall_s"]
    assert t.grid_size.unique().tolist() == [5] and t.trial_seed.tolist() == [0] * 7 + [1] * 7


def test_the_curve_metrics_agree_with_the_trainers_own_numbers(grid):
    t, res = grid.table, grid.finetune
    assert (t.budget == 20_000).all()
    per_trial = grid.bases.table.groupby("trial").censored.sum()
    assert t.bases_censored.tolist() == [int(per_trial[k]) for k in t.trial]
    # the curve reaches 1.0 exactly where the trainer stopped the agent, lower thresholds
    # no later; its first point is the initial value and its last the final one
    reached = metrics.steps_to(res.curve_steps, res.curve, 1.0, 20_000)
    assert reached.tolist() == t.steps_to_converge.tolist()
    assert (t.steps_to_090 <= t.steps_to_095).all()
    assert (t.steps_to_095 <= t.steps_to_converge).all()
    assert t.initial_return.tolist() == res.return_curve[0].tolist()
    done = t[~t.censored]
    assert len(done) and (done.final_fraction == 1.0).all()
    # a converged agent acts optimally: its return is minus the mean shortest distance
    table = mdp.GridWorld(5).table(grid.tasks.target_goal)
    assert (done.final_return == -table.steps_to_success()[table.starts].mean()).all()
    # from convergence on the fraction is 1, so the area is at least the share of the
    # budget left after it, and at most 1
    assert (done.auc_fraction >= 1 - done.steps_to_converge / done.budget).all()
    assert (t.auc_fraction <= 1.0).all()


def test_baselines_weights(grid):
    t = grid.table.set_index(["trial", "method"])
    for trial in (0, 1):
        assert json.loads(t.loc[(trial, "uniform"), "weights"]) == [0.25] * 4
        lang = json.loads(t.loc[(trial, "algorithm1"), "weights"])
        top = json.loads(t.loc[(trial, "language_top1"), "weights"])
        assert top == [1.0 if i == int(np.argmax(lang)) else 0.0 for i in range(4)]
        assert t.loc[(trial, "language_top1"), "weighting"] == "top1"
    assert t.loc[(0, "oracle"), "top_pick_nearest"] == 1.0
    assert np.isnan(t.loc[(0, "uniform"), "top_pick_nearest"])


def test_shuffled_control_has_its_own_alignment(grid):
    t = grid.table.set_index(["trial", "method"])
    assert not np.allclose(grid.similarities["algorithm2"],
                           grid.similarities["algorithm2_shuffled"])
    for m in ("algorithm2", "algorithm2_shuffled"):
        acc = t.xs(m, level="method").align_own_accuracy
        assert ((acc >= 0) & (acc <= 1)).all()
    assert t.xs("algorithm1", level="method").align_own_accuracy.isna().all()


def test_a_methods_run_depends_only_on_its_own_initialisation(grid, tmp_path):
    """Another alignment changes Algorithm 2's initial networks (and with them which agents
    train beside the others, and when the population shrinks); every other method's runs
    must not move by one step: their random streams depend on the trial only and an agent
    learns as if alone."""
    from cliprl_helpers.core.alignment import AlignConfig

    other = experiment.run_grid(5, reading="as_printed", n_trials=2,
                                dqn_config=dqn.DQNConfig(budget_steps=20_000),
                                align_config=AlignConfig(epochs=7), cache_dir=tmp_path,
                                progress=False)
    moved = {"algorithm2", "algorithm2_shuffled"}
    assert not np.array_equal(grid.weights["algorithm2"], other.weights["algorithm2"])
    cols = ["trial", "method", "weights", "initial_fraction", "steps_to_converge", "censored"]
    a, b = (r.table[~r.table.method.isin(moved)][cols].reset_index(drop=True)
            for r in (grid, other))
    assert a.equals(b)


def test_experiment_rejects_bad_methods_and_weighting():
    with pytest.raises(ValueError, match="unknown method"):
        experiment.run_grid(5, methods=["scratch", "magic"])
    with pytest.raises(ValueError, match="unknown weighting scheme"):
        experiment.run_grid(5, weighting="mean")
    with pytest.raises(ValueError, match="n_trials must be an integer >= 1"):
        experiment.run_grid(5, n_trials=0)
