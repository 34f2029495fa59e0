"""The CLIP loss by hand, and an alignment that learns its pairing."""

import math

import pytest
import torch

from cliprl_helpers.core import alignment


def test_clip_loss_matches_hand_computation():
    S = torch.tensor([[1.0, 0.0], [0.5, 2.0]])
    delta = 0.5
    # rows: softmax over j of S_ij / delta; columns: softmax over i
    r0 = 2.0 - math.log(math.exp(2.0) + math.exp(0.0))
    r1 = 4.0 - math.log(math.exp(1.0) + math.exp(4.0))
    c0 = 2.0 - math.log(math.exp(2.0) + math.exp(1.0))
    c1 = 4.0 - math.log(math.exp(0.0) + math.exp(4.0))
    expected = -(r0 + r1) / 4 - (c0 + c1) / 4
    assert alignment.clip_loss(S, delta).item() == pytest.approx(expected, rel=1e-6)
    # a perfectly separated, sharp S has a loss near 0; a constant one has log N
    assert alignment.clip_loss(torch.eye(3) * 50, 0.1).item() < 1e-6
    assert alignment.clip_loss(torch.ones(3, 3), 0.1).item() == pytest.approx(math.log(3))


def test_clip_loss_bad_delta():
    with pytest.raises(ValueError, match="delta .* must be a finite number > 0"):
        alignment.clip_loss(torch.eye(2), 0.0)
    with pytest.raises(ValueError, match="delta .* must be a finite number > 0"):
        alignment.AlignConfig(delta=-1.0)


def test_alignment_learns_the_pairing_and_checks_inputs():
    g = torch.Generator().manual_seed(0)
    lang, pol = torch.randn(4, 8, generator=g), torch.randn(4, 30, generator=g)
    model, losses = alignment.train_alignment(lang, pol, alignment.AlignConfig(epochs=200),
                                              seed=0)
    assert losses[-1] < 0.1 * losses[0]
    with torch.no_grad():
        S = model.similarity(lang, pol)
    assert S.argmax(1).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="4 instructions but 3 policies"):
        alignment.train_alignment(lang, pol[:3])
    with pytest.raises(ValueError, match="got 0 \\(instruction, policy\\) pair"):
        alignment.train_alignment(lang[:0], pol[:0])
