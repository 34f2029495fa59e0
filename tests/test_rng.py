"""Counter-based random streams: one per agent, in range, the same drawn in blocks or one by one."""

import torch

from cliprl_helpers.core import rng


def test_hash_rng_is_per_agent_and_in_range():
    s_pop = rng.Streams([3, 7, 11])
    s_one = rng.Streams([7])
    a = s_pop.uniform(2, torch.arange(5), 9)
    b = s_one.uniform(2, torch.arange(5), 9)
    torch.testing.assert_close(a[1:2], b, rtol=0, atol=0)
    assert a.min() >= 0 and a.max() < 1
    assert not torch.equal(a[0], a[1])  # different seeds, different numbers
    assert not torch.equal(s_pop.uniform(3, torch.arange(5), 9), a)  # different streams
    # roughly uniform
    big = rng.Streams([0]).uniform(1, torch.arange(200), 500)
    assert abs(big.mean().item() - 0.5) < 0.01


def test_stream_block_matches_direct_draws():
    streams = rng.Streams([1, 2])
    block = rng.StreamBlock(streams, 5, 4, block=8)
    direct = streams.uniform(5, torch.arange(20), 4)
    for t in (0, 3, 7, 8, 19):
        torch.testing.assert_close(block(t), direct[:, t], rtol=0, atol=0)
