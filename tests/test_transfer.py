"""Weighting schemes, weight averaging, the CLIP loss, the encoder, the experiment's inputs."""


import pytest
import torch

from cliprl_helpers.core import transfer


def test_paper_weights_exactly_as_printed():
    w, info = transfer.similarity_weights(torch.tensor([0.5, 0.3, 0.2]), "paper")
    torch.testing.assert_close(w, torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64))
    assert not info["negative"] and not info["extrapolates"]


def test_paper_weights_with_negative_similarity_warn_and_extrapolate():
    with pytest.warns(transfer.NegativeWeightWarning, match="extrapolates"):
        w, info = transfer.similarity_weights(torch.tensor([0.6, -0.2]), "paper")
    torch.testing.assert_close(w, torch.tensor([1.5, -0.5], dtype=torch.float64))
    assert info["negative"] and info["extrapolates"]


def test_paper_weights_sum_near_zero_raises():
    with pytest.raises(ValueError, match=r"sum to 0 \(near zero\).*softmax"):
        transfer.similarity_weights(torch.tensor([0.5, -0.5]), "paper")


def test_softmax_positive_top1():
    d = torch.tensor([0.2, -0.1, 0.4])
    w, _ = transfer.similarity_weights(d, "softmax", temperature=0.1)
    e = torch.exp(d.double() / 0.1)
    torch.testing.assert_close(w, e / e.sum())
    w, _ = transfer.similarity_weights(d, "positive")
    torch.testing.assert_close(w, torch.tensor([1 / 3, 0, 2 / 3], dtype=torch.float64))
    w, _ = transfer.similarity_weights(d, "top1")
    assert w.tolist() == [0.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="no positive similarity"):
        transfer.similarity_weights(torch.tensor([-0.1, -0.2]), "positive")


def test_unknown_weighting_raises():
    with pytest.raises(ValueError, match="unknown weighting scheme 'mean'.*paper, softmax"):
        transfer.similarity_weights(torch.tensor([1.0]), "mean")


def test_average_policies_is_the_weighted_sum():
    a = {"W": torch.tensor([1.0, 2.0]), "b": torch.tensor([0.0])}
    b = {"W": torch.tensor([3.0, 6.0]), "b": torch.tensor([4.0])}
    avg = transfer.average_policies([a, b], torch.tensor([0.25, 0.75]))
    torch.testing.assert_close(avg["W"], torch.tensor([2.5, 5.0]))
    torch.testing.assert_close(avg["b"], torch.tensor([3.0]))


def test_average_policies_refuses_other_architectures():
    a = {"W": torch.zeros(2, 3)}
    with pytest.raises(ValueError, match="shape .* only policies of one architecture"):
        transfer.average_policies([a, {"W": torch.zeros(3, 3)}], torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="has tensors"):
        transfer.average_policies([a, {"V": torch.zeros(2, 3)}], torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="3 weights for 2 policies"):
        transfer.average_policies([a, a], torch.tensor([0.2, 0.3, 0.5]))


def test_instruction_checks():
    with pytest.raises(ValueError, match="no base instructions"):
        transfer.check_instructions("top left third", [])
    with pytest.raises(ValueError, match="is one of the base instructions"):
        transfer.check_instructions("top left first", ["top left first", "top right first"])


def test_oracle_picks_nearest_goal():
    w = transfer.nearest_goal_weights((0, 7), [(0, 0), (0, 1), (0, 9), (0, 8)])
    assert w.tolist() == [0.0, 0.0, 0.0, 1.0]


