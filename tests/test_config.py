"""ExperimentConfig: one checked dataclass for every setting of a run."""

from __future__ import annotations

import json

import pytest

from cliprl_helpers.core import alignment, config, dqn, experiment
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


def test_the_ladders_budget_rule_by_hand():
    # 400,000 x max(1, (n / 25)^2): unchanged up to the paper's largest grid
    assert [config.grown_budget(400_000, n, "cells") for n in (8, 25, 35, 50)] == [
        400_000, 400_000, 784_000, 1_600_000]
    assert config.grown_budget(400_000, 50) == 400_000  # "none": the same everywhere
    assert config.grown_budget(1_001, 26, "cells") == 1_083  # 1001 x 676 / 625, rounded up
    with pytest.raises(ValueError, match="unknown budget_growth .area.: allowed are none, cells"):
        config.grown_budget(400_000, 50, "area")
    cfg = config.ExperimentConfig(budget_growth="cells")
    assert cfg.at_size(cfg.finetuning, 35).budget_steps == 784_000
    assert cfg.at_size(cfg.dqn_config, 50).budget_steps == 1_600_000  # the bases' too
    assert cfg.at_size(cfg.finetuning, 15) is cfg.finetuning  # the paper's sizes: unchanged
    plain = config.ExperimentConfig()
    assert plain.at_size(plain.finetuning, 50).budget_steps == 400_000
    with pytest.raises(ValueError, match="budget_growth"):
        config.ExperimentConfig(budget_growth="linear")
