"""The validation layer: what each check accepts, and the message that names what is allowed."""

import math

import pytest
import torch

from cliprl_helpers.core import checks


def test_integers_and_reals_in_range():
    assert checks.integer("n", 3, low=2) == 3 and checks.positive_int("n", 4) == 4
    for bad in (1, 2.5, "3", None, True):
        with pytest.raises(ValueError, match=r"n must be an integer >= 2, got"):
            checks.integer("n", bad, low=2)
    assert checks.real("x", 0.5, low=0, high=1) == 0.5
    for bad in (math.nan, math.inf, -0.1, "a"):
        with pytest.raises(ValueError, match="x must be a finite number"):
            checks.real("x", bad, low=0, high=1)


def test_choices_flags_and_finite_tensors():
    assert checks.choice("weighting", "paper", ["paper", "softmax"]) == "paper"
    with pytest.raises(ValueError, match="unknown weighting 'papr': allowed are paper, softmax"):
        checks.choice("weighting", "papr", ["paper", "softmax"])
    assert checks.flag("bias", False) is False
    with pytest.raises(ValueError, match="bias must be True or False, got 1"):
        checks.flag("bias", 1)
    assert checks.finite("w", [1.0, 2.0]).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="w must be finite, but has 1 NaN or infinite"):
        checks.finite("w", torch.tensor([1.0, float("nan")]))
