"""The Q-network: its hand-written gradient equals autograd's, its flat layout round-trips."""

import pytest
import torch

from cliprl_helpers.core import dqn, qnet


def test_hand_written_gradients_match_autograd():


    P, size, H, B = 3, 4, 8, 5
    nets = qnet.Nets.pack(dqn.init_params(size, H, [0, 1, 2]))
    g = torch.Generator().manual_seed(0)
    cells = torch.randint(0, size * size, (P, B), generator=g)
    actions = torch.randint(0, 4, (P, B), generator=g)
    cells[0], actions[0, :3] = 5, 2  # repeated cells and actions accumulate
    targets = torch.randn(P, B, generator=g)
    weights = torch.tensor([1.0, 0.0, 1.0])
    grads = qnet.Nets.zeros(P, size * size, H)
    grads.flat.fill_(7.0)  # overwritten, padding included
    mse = dqn.td_gradients(nets, cells, actions, targets, weights, grads)
    auto, auto_mse = qnet.td_gradients_autograd(nets, cells, actions, targets, weights)
    torch.testing.assert_close(mse, auto_mse)
    torch.testing.assert_close(grads.flat, auto)
    assert torch.count_nonzero(grads.flat[1]) == 0  # a frozen agent gets no gradient


def test_flat_layout_round_trips_and_pads_rows():


    params = dqn.init_params(5, 24, [3, 4])
    nets = qnet.Nets.pack(params)
    assert nets.width % 16 == 0 and nets.width % 24 == 0
    back = nets.unpack()
    for k in params:
        assert torch.equal(back[k], params[k]) and back[k].is_contiguous()
    q = dqn.q_values(params, torch.tensor([[0, 7], [24, 3]]))
    assert torch.equal(nets.q(torch.tensor([[0, 7], [24, 3]])), q)
    with pytest.raises(ValueError, match=r"flat buffer must have shape \(P, "):
        qnet.Nets(torch.zeros(2, 10), 25, 24)
