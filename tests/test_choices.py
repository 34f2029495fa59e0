"""The book's unstated choices, each one parameter away (chapter 9 varies them): bias and
similarity of the alignment, step 3 of Algorithm 2, and fine-tuning exploration, threshold and
learning rate."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from cliprl_helpers.core import alignment, dqn, experiment, language
from cliprl_helpers.core.config import ExperimentConfig


def _pairs(n=4, lang_dim=6, pol_dim=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, lang_dim, generator=g), torch.randn(n, pol_dim, generator=g)


def test_without_bias_the_projections_are_linear_maps():
    emb, pol = _pairs()
    model = alignment.init_alignment(emb, pol, alignment.AlignConfig(bias=False), seed=1)
    assert model.lang.bias is None and model.policy.bias is None
    # linear: projecting a sum is the sum of projections (with a bias it is not)
    assert torch.allclose(model.project_language(emb[:1] + emb[1:2]),
                          model.project_language(emb[:1]) + model.project_language(emb[1:2]),
                          atol=1e-6)
    trained, losses = alignment.train_alignment(emb, pol, alignment.AlignConfig(
        bias=False, epochs=50), seed=1)
    assert losses[-1] < losses[0] and "lang.bias" not in trained.state_dict()


def test_cosine_similarity_is_the_dot_product_of_normalised_projections():
    emb, pol = _pairs()
    dot = alignment.init_alignment(emb, pol, alignment.AlignConfig(), seed=2)
    cos = alignment.init_alignment(emb, pol, alignment.AlignConfig(similarity="cosine"), seed=2)
    S = cos.similarity(emb, pol)
    by_hand = language.cosine_matrix(dot.project_language(emb), dot.project_policy(pol))
    assert torch.allclose(S, by_hand.to(S.dtype), atol=1e-6)  # same weights, same seed
    assert S.abs().max() <= 1 + 1e-6
    assert not torch.allclose(dot.similarity(emb, pol), S)


def test_fine_tuning_settings_change_only_the_fine_tuning():
    cfg = ExperimentConfig.from_parameters(eps_start=0.2, threshold=0.95, lr_factor=2.0)
    base = dqn.DQNConfig()
    assert cfg.dqn_config == base  # base policies are trained as before
    fine = cfg.finetuning
    assert (fine.eps_start, fine.eps_end, fine.threshold) == (0.2, 0.2, 0.95)  # never rises
    assert fine.learning_rate == pytest.approx(2 * base.learning_rate)
    assert ExperimentConfig.from_parameters(eps_start=0.5).finetuning.eps_end == base.eps_end
    assert ExperimentConfig.from_parameters(eps_start=1.0, lr_factor=1.0).finetune_config is None


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return {s: experiment.plan_grid(5, ExperimentConfig.from_parameters(
                step3=s, eps_start=0.5, n_trials=1, methods=("scratch", "algorithm2")),
                cache_dir=cache, progress=False)
            for s in ("instruction", "policy")}


def test_step3_compares_the_target_with_projected_instructions_or_policies(plans):
    for step3, plan in plans.items():
        model, N = plan.alignments[0], len(plan.tasks.bases)
        with torch.no_grad():
            target = model.project_language(plan.lang_emb[N:])
            keys = (model.project_language(plan.lang_emb[:N]) if step3 == "instruction"
                    else model.project_policy(plan.bases.flat(0)))
        expected = language.cosine_matrix(target, keys)[0].numpy()
        assert plan.similarities["algorithm2"][0] == pytest.approx(expected, abs=1e-6)
    assert not (plans["instruction"].similarities["algorithm2"]
                == pytest.approx(plans["policy"].similarities["algorithm2"], abs=1e-3))


def test_the_fine_tuning_population_uses_the_fine_tuning_config(plans):
    plan = plans["instruction"]
    assert plan.job.config.eps_start == 0.5
    assert plan.bases.config == dqn.DQNConfig()  # the base policies are not touched
    assert dataclasses.replace(plan.job.config, eps_start=1.0) == dqn.DQNConfig()
