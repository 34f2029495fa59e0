"""The trainer's Adam: the same bits on every CPU, at the speed of a fused kernel.

:class:`FlatAdam` updates one flat ``(P, width)`` float32 buffer (rows = agents) with Adam's
default betas and eps. Each element's update is a fixed sequence of single IEEE float32
operations, each correctly rounded::

    m = m * b1 + g * (1 - b1)
    v = v * b2 + (g * g) * (1 - b2)
    p = p - (m / (sqrt(v) / sqrt(1 - b2**t) + eps)) * (lr / (1 - b1**t))

(the constants rounded to float32 once per step). A multiply, add, divide or square root gives
the same bits at any vector width and on any CPU, so the update is the same on every machine
and for every agent whatever its place in the buffer: no fused multiply-add, no approximate
reciprocal, no reduction. The loop is compiled once by numba (no ``fastmath``, so LLVM may
vectorise it but neither reorders nor fuses the operations) into one pass over memory;
``tests/test_dqn.py`` checks it bit for bit against the same sequence written as numpy
operations.

Why not torch's fused Adam: its kernel is compiled per CPU capability, with fused multiply-adds
where the CPU has them (so its bits depend on the CPU), and at the reference capability of
:mod:`cliprl_helpers.core.numerics` it ran at 4.7 ms per step for 40 agents on 25x25, against
0.4 ms for this kernel (numpy's sequence of separate operations: 1.7 ms).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch


@lru_cache(maxsize=1)
def _kernel():
    """The compiled update (numba; compiled on first use, cached on disk)."""
    import numba  # lazy: numba takes a second to import; only training needs it

    @numba.njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
    def adam_step(p, g, m, v, b1, a1, b2, a2, bc2, eps, step_size):  # pragma: no cover
        for i in range(p.size):
            mi = m[i] * b1 + g[i] * a1
            vi = v[i] * b2 + (g[i] * g[i]) * a2
            m[i] = mi
            v[i] = vi
            p[i] = p[i] - (mi / (math.sqrt(vi) / bc2 + eps)) * step_size

    return adam_step


class FlatAdam:
    """Adam (default betas and eps) on one flat ``(P, width)`` float32 tensor, rows = agents
    (see the module docstring for the exact arithmetic). Rows can be frozen and dropped.
    """

    betas, eps = (0.9, 0.999), 1e-8

    def __init__(self, flat: torch.Tensor, lr: float):
        self.lr = float(lr)
        self.exp_avg = torch.zeros_like(flat)
        self.exp_avg_sq = torch.zeros_like(flat)
        self.t = 0

    def constants(self) -> tuple[np.float32, ...]:
        """``(b1, 1 - b1, b2, 1 - b2, sqrt(1 - b2**t), eps, lr / (1 - b1**t))`` as float32,
        for the current step ``t``."""
        b1, b2 = self.betas
        f = np.float32
        return (f(b1), f(1 - b1), f(b2), f(1 - b2), f(math.sqrt(1 - b2 ** self.t)),
                f(self.eps), f(self.lr / (1 - b1 ** self.t)))

    def step(self, flat: torch.Tensor, grad: torch.Tensor) -> None:
        """One update of ``flat`` ``(P, width)`` (in place) with gradient ``grad``."""
        self.t += 1
        arrays = [x.view(-1).numpy() for x in (flat, grad, self.exp_avg, self.exp_avg_sq)]
        _kernel()(*arrays, *self.constants())

    def freeze(self, rows: torch.Tensor) -> None:
        """Stop moving the weights of ``rows`` ``(P,)`` bool, from now on.

        Their loss weight is already 0, so their gradients are exactly 0; zeroing their first
        moment makes every later update ``0 / (sqrt(v) + eps) * step = 0``, so their weights
        stay bit-for-bit what they were at convergence.
        """
        self.exp_avg[rows] = 0.0

    def select(self, keep: torch.Tensor) -> None:
        """Keep only the rows where ``keep`` ``(P,)`` is True."""
        self.exp_avg, self.exp_avg_sq = self.exp_avg[keep].clone(), self.exp_avg_sq[keep].clone()
