"""Same seed, same numbers: whatever the population, thread count or process (chapter 2).

(Whatever the CPU: ``tests/test_numerics.py``.)

The reference is a population of 40 agents (the paper's 4 base tasks x 10 trials) on 15x15,
trained to convergence. Every other way of training the same agents must give the same
steps-to-converge and bit-identical weights: alone, in populations of other sizes (which
also compacts at other moments), with two torch threads, and in another process.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from cliprl_helpers.core import dqn, numerics
from cliprl_helpers.core.base_policies import agent_seed
from cliprl_helpers.core.tasks import paper_tasks
from cliprl_helpers.repro import threads

SIZE, TRIALS = 15, 10
_GOALS = list(paper_tasks(SIZE).bases.values())
GOALS = [g for _ in range(TRIALS) for g in _GOALS]
SEEDS = [agent_seed(t, "base", i) for t in range(TRIALS) for i in range(len(_GOALS))]
INIT = dqn.init_params(SIZE, dqn.DQNConfig().hidden,
                       dqn.init_seeds(range(TRIALS), len(_GOALS), "shared"))


def train(agents):
    agents = list(agents)
    return dqn.train_population(SIZE, [GOALS[i] for i in agents], [SEEDS[i] for i in agents],
                                params={k: v[agents] for k, v in INIT.items()},
                                progress=False)


@pytest.fixture(scope="module")
def population():
    res = train(range(len(GOALS)))
    assert not res.censored.any()
    return res


def assert_same(res, agents, ref):
    agents = list(agents)
    np.testing.assert_array_equal(res.steps_to_converge, ref.steps_to_converge[agents])
    for k in dqn.PARAM_NAMES:
        assert torch.equal(res.params[k], ref.params[k][agents]), k


def test_threads_are_pinned_to_one_by_default():
    assert torch.get_num_threads() == threads.requested_threads()
    if threads.ENV_VAR not in os.environ:
        assert torch.get_num_threads() == 1
    assert torch.are_deterministic_algorithms_enabled()
    assert not torch.is_deterministic_algorithms_warn_only_enabled()


def test_an_agent_alone_is_the_same_agent_in_a_population_of_40(population):
    slowest = int(np.argmax(population.steps_to_converge))
    for i in sorted({0, slowest}):
        assert_same(train([i]), [i], population)


@pytest.mark.parametrize("agents", [[5, 6], list(range(8, 16)), [39, 2, 17]])
def test_other_populations_give_the_same_agents(population, agents):
    assert_same(train(agents), agents, population)


def test_two_threads_in_another_process_give_the_same_numbers(population, tmp_path):
    """Two threads need native numerics (reference numerics compute on one); the trainer's
    operations are the same on every kernel path, so the numbers still do not move."""
    agents = [0, 1, 2, 3, 4, 5, 6, 7]
    code = (
        "import json, sys, torch\n"
        "sys.path.insert(0, {!r})\n"
        "import test_determinism as t\n"
        "assert torch.get_num_threads() == 2\n"
        "r = t.train({!r})\n"
        "torch.save(r.params, {!r})\n"
        "print(json.dumps(r.steps_to_converge.tolist()))\n"
    ).format(os.path.dirname(__file__), agents, str(tmp_path / "p.pt"))
    env = numerics.child_environment("native", **{threads.ENV_VAR: "2"})
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout
    steps = json.loads(out.strip().splitlines()[-1])
    params = torch.load(tmp_path / "p.pt")
    np.testing.assert_array_equal(steps, population.steps_to_converge[agents])
    for k in dqn.PARAM_NAMES:
        assert torch.equal(params[k], population.params[k][agents]), k


def test_bad_thread_setting_is_refused(monkeypatch):
    monkeypatch.setenv(threads.ENV_VAR, "zero")
    with pytest.raises(ValueError, match="CLIPRL_TORCH_THREADS must be a positive integer"):
        threads.requested_threads()
    with pytest.raises(ValueError, match="thread count must be an integer >= 1, got 0"):
        threads.pin_threads(0)
