"""The catalogue of bad inputs: each raises ValueError naming the value, before any work.

One row per case: what is called, and a regular expression the message must match (the
argument's name or the bad value itself). Cases that write (artifacts, cached training)
are given an empty folder and checked to leave it empty. The command line's bad inputs
are in ``test_sweep.py``.
"""

import math
import re

import numpy as np
import pandas as pd
import pytest
import torch

from cliprl_helpers.analysis import ratios
from cliprl_helpers.core import (
    alignment,
    artifacts,
    base_policies,
    checks,
    dqn,
    envs,
    experiment,
    language,
    leave_one_out,
    qnet,
    tasks,
    transfer,
)
from cliprl_helpers.repro import threads

NAN, INF = float("nan"), float("inf")


def _stepped_batched_env():
    core = envs.BatchedGoalGrid(5, [24, 24])
    core.reset(starts=[23, 23])
    return core.step([4, 0])  # action 4 would read the next cell's row of the table


def _policies(n=2, hidden=3, size=3):
    p = qnet.init_params(size, hidden, list(range(n)))
    return [{k: v[i] for k, v in p.items()} for i in range(n)]


def _wrong_w2():
    p = qnet.init_params(3, 4, [0])
    p["W2"] = torch.zeros(1, 5, 4)  # made for hidden 5
    return qnet.q_table(p)


CASES = {
    # --- environment ------------------------------------------------------------------
    "env size 1": (lambda: envs.GoalGridEnv(size=1), r"grid size .* got 1"),
    "env goal off grid": (lambda: envs.GoalGridEnv(size=4, goal=(0, 4)), r"\(0, 4\).*off"),
    "batched action 4 from cell 23": (_stepped_batched_env, r"actions must be .* 0\.\.3"),
    "batched start off grid": (lambda: envs.BatchedGoalGrid(5, [24]).reset(starts=[30]),
                               r"starts \[30\] are off the 5x5 grid"),
    "batched start count": (lambda: envs.BatchedGoalGrid(5, [24, 3]).reset(starts=[1]),
                            r"starts must hold one cell per env \(2\)"),
    "batched fractional goal": (lambda: envs.BatchedGoalGrid(5, [1.7]),
                                r"goals must be integer cell indices.*1\.7"),
    "batched goal off grid": (lambda: envs.BatchedGoalGrid(5, [25]), r"goals \[25\] are off"),
    "batched no goals": (lambda: envs.BatchedGoalGrid(5, []), r"at least one env"),
    "episode_lengths action 7": (
        lambda: envs.episode_lengths(5, (0, 0), np.full(25, 7), 3, 0),
        r"policy must be 25 integer actions in 0\.\.3"),
    "episode_lengths short table": (
        lambda: envs.episode_lengths(5, (0, 0), np.zeros(24, dtype=int), 3, 0),
        r"policy must be 25 .* shape \(24,\)"),
    "episode_lengths 0 episodes": (lambda: envs.episode_lengths(5, (0, 0), None, 0, 0),
                                   r"n_episodes .* got 0"),
    "vector num_envs 0": (lambda: envs.GoalGridVectorEnv(num_envs=0), r"num_envs .* got 0"),
    "vector num_envs 2.0": (lambda: envs.GoalGridVectorEnv(num_envs=2.0),
                            r"num_envs must be an integer .* got 2\.0"),
    "vector num_envs True": (lambda: envs.GoalGridVectorEnv(num_envs=True),
                             r"num_envs must be an integer .* got True"),
    "max_steps 0": (lambda: envs.GoalGridEnv(size=4, max_steps=0), r"max_steps .* got 0"),
    # --- trainer ----------------------------------------------------------------------
    "learning_rate True": (lambda: dqn.DQNConfig(learning_rate=True),
                           r"learning_rate .* got True"),
    "learning_rate nan": (lambda: dqn.DQNConfig(learning_rate=NAN), r"learning_rate .* nan"),
    "max_episode_steps 0": (lambda: dqn.DQNConfig(max_episode_steps=0),
                            r"max_episode_steps .* got 0"),
    "gamma as text": (lambda: dqn.DQNConfig(gamma="0.9"), r"gamma .* got '0\.9'"),
    "gamma 1.5": (lambda: dqn.DQNConfig(gamma=1.5), r"gamma .* \(0, 1\].* 1\.5"),
    "threshold None": (lambda: dqn.DQNConfig(threshold=None), r"threshold .* got None"),
    "budget 1.5": (lambda: dqn.DQNConfig(budget_steps=1.5), r"budget_steps .* got 1\.5"),
    "eps_start -0.1": (lambda: dqn.DQNConfig(eps_start=-0.1), r"eps_start .* -0\.1"),
    "buffer < batch": (lambda: dqn.DQNConfig(buffer_size=8, batch_size=64),
                       r"buffer_size \(8\) must be >= batch_size \(64\)"),
    "init_params hidden 0": (lambda: qnet.init_params(4, 0, [0]), r"hidden .* got 0"),
    "W2 of another hidden size": (_wrong_w2, r"params\['W2'\] has shape \(1, 5, 4\)"),
    "thread count 0": (lambda: threads.pin_threads(0), r"thread count .* got 0"),
    # --- transfer ---------------------------------------------------------------------
    "paper weights with NaN": (lambda: transfer.similarity_weights([NAN, .5, .2], "paper"),
                               r"similarities d must be finite.*index 0"),
    "top1 weights with NaN": (lambda: transfer.similarity_weights([NAN, .5, .2], "top1"),
                              r"similarities d must be finite"),
    "weights with inf": (lambda: transfer.similarity_weights([INF, .5], "paper"),
                         r"similarities d must be finite.*inf"),
    "softmax temperature 0": (lambda: transfer.similarity_weights([.1, .2], "softmax", 0),
                              r"softmax temperature .* got 0"),
    "unknown weighting": (lambda: transfer.similarity_weights([.1, .2], "nonsense"),
                          r"unknown weighting scheme 'nonsense'.*paper, softmax"),
    "average with NaN weight": (lambda: transfer.average_policies(_policies(), [NAN, 1]),
                                r"averaging weights must be finite"),
    "average with zero weights": (lambda: transfer.average_policies(_policies(), [0, 0]),
                                  r"weights \[0\.0, 0\.0\] sum to 0"),
    "average of a NaN policy": (lambda: transfer.average_policies(
        [{**_policies()[0], "b2": torch.full((4,), NAN)}, _policies()[1]], [.5, .5]),
        r"policy 0 tensor 'b2' must be finite"),
    "oracle without bases": (lambda: transfer.nearest_goal_weights((0, 1), []),
                             r"at least one \(row, col\) goal"),
    # --- alignment --------------------------------------------------------------------
    "alignment NaN embedding": (lambda: alignment.train_alignment(
        torch.tensor([[NAN, 0.], [1., 0.]]), torch.eye(2)), r"lang_emb .* must be finite"),
    "alignment one pair": (lambda: alignment.train_alignment(torch.ones(1, 3), torch.ones(1, 5)),
                           r"got 1 \(instruction, policy\) pair.*at least two"),
    "alignment count mismatch": (lambda: alignment.train_alignment(torch.ones(3, 3),
                                                                   torch.ones(2, 5)),
                                 r"3 instructions but 2 policies"),
    "align dim 0": (lambda: alignment.AlignConfig(dim=0), r"dim .* got 0"),
    "align delta inf": (lambda: alignment.AlignConfig(delta=INF), r"delta .* inf"),
    "clip_loss numpy": (lambda: alignment.clip_loss(np.eye(2), 0.1), r"S must be a torch"),
    # --- artifacts --------------------------------------------------------------------
    "save a list": (lambda: artifacts.save(".", "x", [1, 2], {}),
                    r"tensors must be a dict .* got list"),
    "save bad name": (lambda: artifacts.save(".", "../x", {}, {}), r"plain file stem.*'\.\./x'"),
    # --- language ---------------------------------------------------------------------
    "paraphrase None": (lambda: tasks.paraphrase(None), r"cannot paraphrase None"),
    "paraphrase nonsense": (lambda: tasks.paraphrase("go north"), r"'go north'"),
    "encode one string": (lambda: language.Encoder()("go"), r"not one string.*\['go'\]"),
    "encoder model 3": (lambda: language.Encoder(3), r"model must be .* got 3"),
    "cosine widths": (lambda: language.cosine_matrix(torch.ones(2, 3), torch.ones(2, 4)),
                      r"same width D, got shapes \(2, 3\) and \(2, 4\)"),
    "cosine NaN": (lambda: language.cosine_matrix(torch.tensor([[NAN, 1.]])),
                   r"a \(embeddings\) must be finite"),
    # --- experiment -------------------------------------------------------------------
    "paired_ratio without algorithm2": (lambda: ratios.paired_ratio(pd.DataFrame(
        {"grid_size": [4], "target_reading": ["x"], "trial": [0], "method": ["algorithm1"],
         "steps_to_converge": [1], "censored": [False]})), r"\['algorithm2'\] are not in"),
    "paired_ratio without columns": (lambda: ratios.paired_ratio(pd.DataFrame({"a": [1]})),
                                     r"needs columns \['grid_size'"),
    "run args weighting": (lambda: experiment.ExperimentConfig.of(weighting="nonsense"),
                           r"'nonsense'"),
    "run args unknown": (lambda: experiment.ExperimentConfig.of(epsilon=3), r"\['epsilon'\]"),
    "run args n_trials 0": (lambda: experiment.ExperimentConfig.of(n_trials=0), r"n_trials .* 0"),
    "run args init_mode": (lambda: experiment.ExperimentConfig.of(init_mode="both"), r"'both'"),
    "run args dqn_config": (lambda: experiment.ExperimentConfig.of(dqn_config={"hidden": 3}),
                            r"dqn_config must be a DQNConfig"),
    "step3 both": (lambda: experiment.ExperimentConfig(step3="both"),
                   r"unknown step3 'both': allowed are instruction, policy"),
    "lr_factor 0": (lambda: experiment.ExperimentConfig.from_parameters(lr_factor=0),
                    r"lr_factor .* got 0"),
    "eps_start 2": (lambda: experiment.ExperimentConfig.from_parameters(eps_start=2),
                    r"eps_start .* got 2"),
    "align_similarity l2": (lambda: experiment.ExperimentConfig.from_parameters(
        align_similarity="l2"), r"unknown similarity 'l2': allowed are dot, cosine"),
    "align bias 1": (lambda: alignment.AlignConfig(bias=1), r"bias must be True or False"),
    "parameter unknown": (lambda: experiment.ExperimentConfig.from_parameters(epsilon=0.5),
                          r"unknown parameter\(s\) \['epsilon'\]: allowed are .*eps_start"),
    # --- the validation layer itself ----------------------------------------------------
    "integer bool": (lambda: checks.integer("n", True), r"n must be an integer .* got True"),
    "integer float": (lambda: checks.integer("n", 2.0), r"got 2\.0 \(float\)"),
    "real string": (lambda: checks.real("x", "1"), r"x must be a finite number"),
    "real -inf": (lambda: checks.real("x", -math.inf), r"got -inf"),
    "flag 1": (lambda: checks.flag("f", 1), r"f must be True or False, got 1"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_raises_value_error_naming_it(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # anything written by mistake would land here
    call, pattern = CASES[name]
    with pytest.raises(ValueError) as err:
        call()
    assert re.search(pattern, str(err.value), re.S), str(err.value)
    assert list(tmp_path.iterdir()) == [], "a refused call wrote something"


def test_the_catalogue_is_large():
    assert len(CASES) >= 40


def test_numpy_integers_are_accepted_where_integers_are_meant():
    env = envs.GoalGridVectorEnv(num_envs=np.int64(2), size=5, goal=np.array([0, 3]))
    obs, _ = env.reset(seed=0)
    assert obs.shape == (2,) and env.goal_cells == [(0, 3), (0, 3)]
    assert envs.episode_lengths(np.int64(5), (0, 0), None, np.int64(3), 0).shape == (3,)
    cfg = dqn.DQNConfig(budget_steps=np.int64(1000), hidden=np.int32(8))
    assert cfg.budget_steps == 1000 and type(cfg.budget_steps) is int  # stored as int
    assert alignment.AlignConfig(dim=np.int64(4)).dim == 4
    assert qnet.init_params(np.int64(3), np.int64(2), [0])["W1"].shape == (1, 9, 2)


def test_alignment_accepts_numpy_arrays():
    emb = np.eye(3, 4)
    pol = np.arange(15, dtype=float).reshape(3, 5) ** 2
    model, losses = alignment.train_alignment(emb, pol, alignment.AlignConfig(epochs=5))
    assert len(losses) == 6 and all(math.isfinite(v) for v in losses)


def test_run_grid_with_a_bad_model_fails_before_training(tmp_path):
    with pytest.raises(ValueError, match="no-such-model"):
        experiment.run_grid(4, n_trials=1, model="no-such-model", cache_dir=tmp_path,
                            progress=False)
    assert not list(tmp_path.glob("base-*")), "base policies were trained before the check"


@pytest.mark.parametrize("kwargs, pattern", [
    ({"weighting": "nonsense"}, "nonsense"),
    ({"n_trials": 0}, "n_trials"),
    ({"align_config": "small"}, "align_config"),
    ({"temperature": -1}, "temperature"),
])
def test_run_grid_checks_everything_before_training(tmp_path, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        experiment.run_grid(4, cache_dir=tmp_path, progress=False, **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_leave_one_out_checks_n_bases_before_training(tmp_path):
    family = tasks.top_row_family(4)
    for n in (0, 1, 4):
        with pytest.raises(ValueError, match=rf"n_bases must be an integer in \[2, 3\], got {n}"):
            leave_one_out.leave_one_out(family, 4, n_trials=1, n_bases=n, cache_dir=tmp_path,
                                     progress=False)
    with pytest.raises(ValueError, match="nonsense"):
        leave_one_out.leave_one_out(family, 4, n_trials=1, weighting="nonsense",
                                 cache_dir=tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_cached_base_policies_of_the_wrong_shape_are_retrained(tmp_path):
    cfg = dqn.DQNConfig(budget_steps=2000, hidden=8)
    bases = {"a": (0, 0), "b": (0, 3)}
    first = base_policies.train_base_policies(4, bases, [0], cfg, cache_dir=tmp_path,
                                              progress=False)
    [meta] = tmp_path.glob("train-base-*.json")
    name = meta.stem
    tensors, info = artifacts.load(tmp_path, name)
    tensors["W1"] = torch.zeros(2, 25, 8)  # a 5x5 grid's first layer
    artifacts.save(tmp_path, name, tensors, info)
    with pytest.warns(UserWarning, match=r"'W1'\] has shape \(2, 25, 8\), expected \(2, 16, 8\)"):
        again = base_policies.train_base_policies(4, bases, [0], cfg, cache_dir=tmp_path,
                                                  progress=False)
    assert again.from_cache == [False]
    torch.testing.assert_close(again.params["W1"], first.params["W1"], rtol=0, atol=0)
