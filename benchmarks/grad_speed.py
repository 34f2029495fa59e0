"""Hand-written gradients vs autograd for the same TD update (``make bench``).

The trainer keeps its hand-written backward pass (:func:`cliprl_helpers.core.qnet.td_gradients`)
only if it beats autograd on the update it replaces: same networks, same minibatch, gradient
into the flat buffer, at the population sizes the book trains.
"""

from __future__ import annotations

import time

import torch

from cliprl_helpers.core import qnet


def _time(fn, repeats: int = 300) -> float:
    for _ in range(20):
        fn()
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - t0) / repeats)
    return best * 1e3


def bench_grad(size: int, P: int = 40, batch: int = 64, hidden: int = 32) -> dict:
    nets = qnet.Nets.pack(qnet.init_params(size, hidden, list(range(P))))
    grads = qnet.Nets.zeros(P, size * size, hidden)
    g = torch.Generator().manual_seed(0)
    cells = torch.randint(0, size * size, (P, batch), generator=g)
    actions = torch.randint(0, 4, (P, batch), generator=g)
    targets = torch.randn(P, batch, generator=g)
    weights = torch.ones(P)
    by_hand = _time(lambda: qnet.td_gradients(nets, cells, actions, targets, weights, grads))
    auto = _time(lambda: qnet.td_gradients_autograd(nets, cells, actions, targets, weights))
    return {"size": size, "P": P, "hand_ms": by_hand, "autograd_ms": auto}


def report(r: dict) -> str:
    verdict = "keep the hand-written path" if r["hand_ms"] < r["autograd_ms"] else \
        "autograd is faster: drop the hand-written path"
    return (f"TD gradient, {r['P']} agents on {r['size']}x{r['size']}: hand-written "
            f"{r['hand_ms']:.3f} ms, autograd {r['autograd_ms']:.3f} ms -> "
            f"{r['autograd_ms'] / r['hand_ms']:.2f}x ({verdict})")
