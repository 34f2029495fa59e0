"""FlatAdam: Adam by hand and against torch's, each row independent of its neighbours."""

import numpy as np
import torch

from cliprl_helpers.core import adam


def test_flat_adam_by_hand_and_against_torch():
    """Each step is Adam written out in float32 operations (checked to the bit against the
    formula computed elementwise in numpy), and follows torch's Adam to rounding."""
    g = torch.Generator().manual_seed(1)
    a = torch.randn(3, 32, generator=g)
    b = a.clone().requires_grad_(True)
    by_hand = a.numpy().copy()
    m = np.zeros_like(by_hand)
    v = np.zeros_like(by_hand)
    f = np.float32
    ours = adam.FlatAdam(a, lr=1e-2)
    ref = torch.optim.Adam([b], lr=1e-2)
    for t in range(1, 6):
        grad = torch.randn(3, 32, generator=g)
        ours.step(a, grad)
        b.grad = grad.clone()
        ref.step()
        gn = grad.numpy()
        m = m * f(0.9) + gn * f(1 - 0.9)
        v = v * f(0.999) + (gn * gn) * f(1 - 0.999)
        denom = np.sqrt(v) / f(np.sqrt(1 - 0.999 ** t)) + f(1e-8)
        by_hand = by_hand - (m / denom) * f(1e-2 / (1 - 0.9 ** t))
        assert np.array_equal(a.numpy(), by_hand)
    torch.testing.assert_close(a, b.detach(), rtol=1e-6, atol=1e-7)


def test_flat_adam_rows_do_not_depend_on_their_neighbours():
    """One agent's row updated alone or inside a population of 5 gives the same bits (the
    population trainer's premise), and a frozen row never moves again."""
    g = torch.Generator().manual_seed(2)
    flat = torch.randn(5, 48, generator=g)
    grads = [torch.randn(5, 48, generator=g) for _ in range(4)]
    alone = flat[2:3].clone()
    pop, one = adam.FlatAdam(flat, 1e-2), adam.FlatAdam(alone, 1e-2)
    for gr in grads:
        pop.step(flat, gr)
        one.step(alone, gr[2:3].contiguous())
    assert torch.equal(flat[2:3], alone)
    frozen = flat[0].clone()
    pop.freeze(torch.tensor([True, False, False, False, False]))
    pop.step(flat, torch.zeros(5, 48))
    assert torch.equal(flat[0], frozen)
