"""ExperimentConfig: one checked dataclass for every setting of a run."""

from __future__ import annotations

import json

import pytest

from cliprl_helpers.core import alignment, dqn, experiment
from cliprl_helpers.core.config import METHODS, ExperimentConfig


def test_defaults_are_the_books_and_checked_values_are_normalised():
    cfg = ExperimentConfig(methods=["scratch", "algorithm2"], n_trials=3, dqn_config=None)
    assert cfg.reading == "as_printed" and cfg.weighting == "paper" and cfg.seed == 0
    assert cfg.methods == ("scratch", "algorithm2") and cfg.dqn_config == dqn.DQNConfig()
    assert ExperimentConfig().methods == METHODS == (
        "scratch", "algorithm1", "algorithm2", "oracle", "uniform", "language_top1",
        "algorithm2_shuffled")


def test_of_changes_single_fields_and_names_unknown_ones():
    base = ExperimentConfig(n_trials=4)
    cfg = ExperimentConfig.of(base, weighting="softmax")
    assert (cfg.n_trials, cfg.weighting, base.weighting) == (4, "softmax", "paper")
    with pytest.raises(ValueError, match=r"\['epsilon_start'\].*allowed are reading, weighting"):
        ExperimentConfig.of(base, epsilon_start=0.5)
    with pytest.raises(ValueError, match="config must be an ExperimentConfig or None, got dict"):
        ExperimentConfig.of({"n_trials": 3})


def test_key_is_json_and_differs_exactly_when_a_number_could():
    a = ExperimentConfig().key()
    json.dumps(a)  # JSON-able
    assert a == ExperimentConfig(align_config=alignment.AlignConfig()).key()
    assert a != ExperimentConfig(align_config=alignment.AlignConfig(dim=8)).key()
    assert a["align_config"]["dim"] == alignment.AlignConfig().dim


def test_a_config_object_and_the_same_keywords_plan_the_same_run(monkeypatch):
    seen = []
    monkeypatch.setattr(experiment, "paper_tasks", lambda *a: seen.append(a) or 1 / 0)
    for call in (lambda: experiment.plan_grid(6, ExperimentConfig(reading="self_consistent")),
                 lambda: experiment.plan_grid(6, reading="self_consistent")):
        with pytest.raises(ZeroDivisionError):  # stops right after the config is settled
            call()
    assert seen == [(6, "self_consistent"), (6, "self_consistent")]
