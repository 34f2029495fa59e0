"""The Q-network of every agent, its batched forward pass and its hand-written gradient.

The network is CleanRL's small MLP on a one-hot cell, ``q(s) = W2^T relu(W1[s] + b1) + b2``
(multiplying a one-hot vector by ``W1`` is a row lookup, which is how it is computed).

A population of ``P`` networks lives in **one flat buffer** of shape ``(P, width)``
(:class:`Nets`); ``W1``, ``b1``, ``W2`` and ``b2`` are views into it. Two reasons:

* one optimizer step updates every weight of every agent with one kernel call;
* every agent's row is padded to a multiple of 16 floats (and of the hidden width), so every
  elementwise kernel that updates it takes the same path for *every* element. This mattered
  for torch's fused Adam kernel, whose scalar path for the elements left over at the end of a
  tensor rounded differently from its vectorised one: an agent trained alone (4 elements of
  ``b2``) and the same agent in a population (``4 * P`` elements) drifted apart by 1e-9 after
  one update. The trainer's Adam is now made of single IEEE operations
  (:class:`cliprl_helpers.core.dqn.FlatAdam`), the same at any position, so the padding is a
  safeguard for whatever kernel comes next. An agent's numbers do not depend on the
  population it trains in, nor on the thread count (tests check both, to the bit, on full
  runs).

**The forward pass is exact.** The output layer ``q = b2 + h @ W2`` is computed by a small
compiled kernel (:func:`q_from_hidden`, :func:`q_of_cells`; numba, no ``fastmath``) that adds
the 32 products of each Q-value one after the other, in one fixed order, each a separately
rounded float32 multiply and add. Every other operation of the trainer is elementwise IEEE
arithmetic, an index operation, a max or an argmax. So the trainer's numbers do not depend on
the CPU's kernels at all: torch's ``baddbmm`` goes through MKL, whose summation order and use
of fused multiply-adds depend on the CPU and the reproducibility mode (in the reference
numerics of :mod:`cliprl_helpers.core.numerics` it happened to give the same bits as this kernel;
``tests/test_dqn.py`` checks the kernel against the sum written out in numpy). Only where a
gradient must flow through the network (:func:`td_gradients_autograd`, a test reference)
does ``baddbmm`` remain.

Parameter dicts as the rest of the package sees them:
``{"W1": (P, n*n, H), "b1": (P, H), "W2": (P, H, 4), "b2": (P, 4)}``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from . import checks
from .grid import N_ACTIONS
from .mdp import as_world

PARAM_NAMES = ("W1", "b1", "W2", "b2")
#: Floats per vector register on the widest CPUs (AVX-512) and per 64-byte cache line:
#: rows padded to a multiple of this are updated on one code path (module docstring).
ROW_ALIGN = 16


def param_shapes(n_cells: int, hidden: int) -> dict[str, tuple[int, ...]]:
    """Per-agent shapes of the network's tensors."""
    return {"W1": (n_cells, hidden), "b1": (hidden,), "W2": (hidden, N_ACTIONS),
            "b2": (N_ACTIONS,)}


class Nets:
    """``P`` Q-networks in one flat ``(P, width)`` float32 buffer.

    One agent's row holds ``W1`` (``n*n`` rows of ``H``), ``b1`` (one row), ``W2``
    *transposed* (4 rows of ``H``: row ``a`` is what action ``a`` reads from the hidden layer),
    then ``b2`` (4 floats) and zero padding. Seen as a table of ``H``-wide rows (``rows``),
    everything the gradient touches per sample is a whole row: ``W1[s]``, ``b1`` and
    ``W2[:, a]``, so one ``index_add_`` accumulates the whole gradient (in sample order, on
    every thread count).

    Attributes:
        flat: ``(P, width)`` the weights; each row is one agent, zero-padded at the end.
        n_cells, hidden: ``n*n`` and ``H``.
        params: ``{"W1": (P, n*n, H), "b1": (P, H), "W2": (P, H, 4), "b2": (P, 4)}`` views
            into ``flat`` (``W2`` is a transposed view).
        rows: ``(P * rows_per_agent, H)`` view of ``flat``.
    """

    def __init__(self, flat: torch.Tensor, n_cells: int, hidden: int):
        self.n_cells, self.hidden = n_cells, hidden
        self.width = self.row_width(n_cells, hidden)
        if flat.dim() != 2 or flat.shape[1] != self.width:
            raise ValueError(f"flat buffer must have shape (P, {self.width}), got "
                             f"{tuple(flat.shape)}")
        P, H = flat.shape[0], hidden
        self.flat = flat
        self.rows_per_agent = self.width // H
        self.rows = flat.view(-1, H)
        #: row offsets (in ``rows``) of b1 and of W2's first column, within an agent
        self.b1_row, self.w2_row = n_cells, n_cells + 1
        #: offset (in ``flat``'s row) of b2
        self.b2_at = (n_cells + 1 + N_ACTIONS) * H
        self.params = {
            "W1": flat[:, :n_cells * H].view(P, n_cells, H),
            "b1": flat[:, n_cells * H:(n_cells + 1) * H],
            "W2": flat[:, (n_cells + 1) * H:self.b2_at].view(P, N_ACTIONS, H).transpose(1, 2),
            "b2": flat[:, self.b2_at:self.b2_at + N_ACTIONS],
        }
        #: ``(P, 4, H)`` the rows of ``W2`` transposed, as stored
        self.w2t = flat[:, (n_cells + 1) * H:self.b2_at].view(P, N_ACTIONS, H)
        self.base = torch.arange(P).unsqueeze(1) * self.rows_per_agent  # (P, 1)

    @staticmethod
    def row_width(n_cells: int, hidden: int) -> int:
        """Padded length of one agent's row: a multiple of 16 and of ``hidden``."""
        used = (n_cells + 1 + N_ACTIONS) * hidden + N_ACTIONS
        unit = math.lcm(ROW_ALIGN, hidden)
        return -(-used // unit) * unit

    @classmethod
    def zeros(cls, P: int, n_cells: int, hidden: int) -> Nets:
        return cls(torch.zeros(P, cls.row_width(n_cells, hidden)), n_cells, hidden)

    @classmethod
    def pack(cls, params: dict[str, torch.Tensor]) -> Nets:
        """Copy a parameter dict (see module docstring) into a new flat buffer."""
        P, n_cells, hidden = check_params(params)
        nets = cls.zeros(P, n_cells, hidden)
        for k in PARAM_NAMES:
            nets.params[k].copy_(params[k].detach())
        return nets

    def unpack(self) -> dict[str, torch.Tensor]:
        """A parameter dict of contiguous copies."""
        return {k: v.contiguous().clone() for k, v in self.params.items()}

    @property
    def P(self) -> int:
        return self.flat.shape[0]

    def lookup(self, cells: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``W1`` rows of cells ``(P, B)``: returns ``(rows (P*B,), W1[cells] (P, B, H))``."""
        P, B = cells.shape
        idx = (cells + self.base).reshape(-1)
        return idx, self.rows.index_select(0, idx).view(P, B, self.hidden)

    def q(self, cells: torch.Tensor) -> torch.Tensor:
        """Q-values of cells ``(P, B)``: ``(P, B, 4)`` (same numbers as :func:`q_values`)."""
        h = torch.relu(self.lookup(cells)[1] + self.params["b1"].unsqueeze(1))
        return q_from_hidden(h, self.w2t, self.params["b2"])


def check_params(params, name: str = "params") -> tuple[int, int, int]:
    """Check a parameter dict of ``P`` networks; returns ``(P, n_cells, hidden)``.

    ``ValueError`` names the tensor whose shape does not fit the others (e.g. a ``W2``
    made for another hidden size).
    """
    if not isinstance(params, dict) or set(params) != set(PARAM_NAMES) or not all(
            isinstance(params[k], torch.Tensor) for k in PARAM_NAMES):
        raise ValueError(f"{name} must be a dict of torch tensors {list(PARAM_NAMES)}, got "
                         f"{sorted(params) if isinstance(params, dict) else type(params).__name__}")
    W1 = params["W1"]
    if W1.dim() != 3:
        raise ValueError(f"{name}['W1'] must have shape (P, n*n, H), got {tuple(W1.shape)}")
    P, n_cells, hidden = W1.shape
    for k, shape in param_shapes(n_cells, hidden).items():
        if tuple(params[k].shape) != (P, *shape):
            raise ValueError(f"{name}[{k!r}] has shape {tuple(params[k].shape)}, but W1 "
                             f"{tuple(W1.shape)} needs {(P, *shape)} ({P} networks, "
                             f"{n_cells} cells, hidden {hidden})")
    return P, n_cells, hidden


def init_params(world, hidden: int, seeds) -> dict[str, torch.Tensor]:
    """Initial Q-network weights for ``P = len(seeds)`` agents, one generator per seed.

    ``world`` is a :class:`~cliprl_helpers.core.mdp.World` (one input per state:
    ``S = world.n_states``) or a grid side ``n`` (one input per cell).

    The scheme is ``torch.nn.Linear``'s default (uniform in ``+-1/sqrt(fan_in)``), drawn
    from ``torch.Generator().manual_seed(seed)``, so equal seeds give equal networks.

    Returns ``{"W1": (P, n*n, H), "b1": (P, H), "W2": (P, H, 4), "b2": (P, 4)}``.
    """
    n_in = as_world(world).n_states
    hidden = checks.positive_int("hidden", hidden)
    out = {k: [] for k in PARAM_NAMES}
    for seed in seeds:
        g = torch.Generator().manual_seed(int(seed))
        b_in, b_h = 1 / math.sqrt(n_in), 1 / math.sqrt(hidden)
        out["W1"].append((torch.rand(n_in, hidden, generator=g) * 2 - 1) * b_in)
        out["b1"].append((torch.rand(hidden, generator=g) * 2 - 1) * b_in)
        out["W2"].append((torch.rand(hidden, N_ACTIONS, generator=g) * 2 - 1) * b_h)
        out["b2"].append((torch.rand(N_ACTIONS, generator=g) * 2 - 1) * b_h)
    return {k: torch.stack(v) for k, v in out.items()}


def q_values(params: dict[str, torch.Tensor], cells: torch.Tensor) -> torch.Tensor:
    """Q-values of cells ``(P, B)`` (int64) under per-agent params: ``(P, B, 4)``.

    With parameters that require gradients, the output layer is torch's ``baddbmm`` (so
    autograd can flow); otherwise the exact kernel of :func:`q_from_hidden`."""
    check_params(params)
    W1 = params["W1"]
    h = W1[torch.arange(W1.shape[0]).unsqueeze(1), cells]  # (P, B, H)
    h = torch.relu(h + params["b1"].unsqueeze(1))
    if any(params[k].requires_grad for k in PARAM_NAMES):
        return torch.baddbmm(params["b2"].unsqueeze(1), h, params["W2"])
    return q_from_hidden(h, params["W2"].transpose(1, 2), params["b2"])


def q_table(params: dict[str, torch.Tensor]) -> torch.Tensor:
    """Q-values of every cell: ``(P, n*n, 4)`` (the arguments are checked; the trainer,
    whose buffer is valid by construction, calls :func:`q_table_unchecked`)."""
    check_params(params)
    return q_table_unchecked(params)


def q_table_unchecked(params: dict[str, torch.Tensor],
                      out: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`q_table` without checking ``params`` (into ``out`` if given)."""
    return q_of_cells(params["W1"], params["b1"], params["W2"].transpose(1, 2), params["b2"],
                      out)


@lru_cache(maxsize=1)
def _kernels():
    """The compiled output-layer kernels (numba; compiled on first use, cached on disk)."""
    import numba  # lazy: numba takes a second to import; only training needs it

    jit = numba.njit(cache=True, fastmath=False, error_model="numpy", nogil=True)

    @jit
    def hidden_q(h, w2t, b2, out):  # pragma: no cover - compiled
        P, B, H = h.shape
        for p in range(P):
            for b in range(B):
                q0, q1, q2, q3 = b2[p, 0], b2[p, 1], b2[p, 2], b2[p, 3]
                for k in range(H):
                    hk = h[p, b, k]
                    q0 = q0 + hk * w2t[p, 0, k]
                    q1 = q1 + hk * w2t[p, 1, k]
                    q2 = q2 + hk * w2t[p, 2, k]
                    q3 = q3 + hk * w2t[p, 3, k]
                out[p, b, 0], out[p, b, 1], out[p, b, 2], out[p, b, 3] = q0, q1, q2, q3

    @jit
    def cells_q(w1, b1, w2t, b2, out):  # pragma: no cover - compiled
        P, S, H = w1.shape
        zero = np.float32(0.0)
        for p in range(P):
            for s in range(S):
                q0, q1, q2, q3 = b2[p, 0], b2[p, 1], b2[p, 2], b2[p, 3]
                for k in range(H):
                    hk = w1[p, s, k] + b1[p, k]
                    if hk < zero:
                        hk = zero
                    q0 = q0 + hk * w2t[p, 0, k]
                    q1 = q1 + hk * w2t[p, 1, k]
                    q2 = q2 + hk * w2t[p, 2, k]
                    q3 = q3 + hk * w2t[p, 3, k]
                out[p, s, 0], out[p, s, 1], out[p, s, 2], out[p, s, 3] = q0, q1, q2, q3

    return hidden_q, cells_q


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy()


def q_from_hidden(h: torch.Tensor, w2t: torch.Tensor, b2: torch.Tensor,
                  out: torch.Tensor | None = None) -> torch.Tensor:
    """The output layer, exactly: ``q[p, b, a] = (((b2[p, a] + h[p, b, 0] * W2[p, 0, a]) +
    h[p, b, 1] * W2[p, 1, a]) + ...)``, one float32 multiply and add at a time, in this order.

    Args:
        h: ``(P, B, H)`` float32 hidden activations.
        w2t: ``(P, 4, H)`` ``W2`` transposed (any strides).
        b2: ``(P, 4)``.
        out: ``(P, B, 4)`` float32 buffer to write into (default: a new tensor).
    """
    P, B, _ = h.shape
    out = torch.empty(P, B, N_ACTIONS) if out is None else out
    _kernels()[0](_np(h), _np(w2t), _np(b2), out.numpy())
    return out


def q_of_cells(W1: torch.Tensor, b1: torch.Tensor, w2t: torch.Tensor, b2: torch.Tensor,
               out: torch.Tensor | None = None) -> torch.Tensor:
    """Q-values of every cell, ``(P, n*n, 4)``: :func:`q_from_hidden` of
    ``relu(W1 + b1)``, computed row by row without storing the hidden layer.

    Args:
        W1: ``(P, n*n, H)``; b1: ``(P, H)``; w2t: ``(P, 4, H)``; b2: ``(P, 4)`` (any strides).
        out: ``(P, n*n, 4)`` float32 buffer to write into (default: a new tensor).
    """
    P, S, _ = W1.shape
    out = torch.empty(P, S, N_ACTIONS) if out is None else out
    _kernels()[1](_np(W1), _np(b1), _np(w2t), _np(b2), out.numpy())
    return out


def greedy_actions(params: dict[str, torch.Tensor]) -> torch.Tensor:
    """Greedy action of every cell, ``(P, n*n)`` (ties go to the lowest action id)."""
    return q_table(params).argmax(-1)


def td_gradients(nets: Nets, cells: torch.Tensor, actions: torch.Tensor,
                 targets: torch.Tensor, weights: torch.Tensor, grads: Nets) -> torch.Tensor:
    """Gradients of ``sum_p weights[p] * mean_b (q_p(s_pb, a_pb) - y_pb)**2``, by hand.

    With ``d = dLoss/dq(s, a)`` per sample, the gradient is, per sample: ``d * h`` into
    column ``a`` of ``W2``, ``d`` into ``b2[a]``, and ``dh = d * W2[:, a] * (pre > 0)`` into
    ``b1`` and into row ``s`` of ``W1``; every one of those is a row of :attr:`Nets.rows`,
    so two ``index_add_`` calls write the whole gradient into the reused buffer ``grads``.
    No autograd graph and no fresh full-size tensors per update. Agent ``p``'s gradient
    depends only on agent ``p``'s data (a unit test compares with autograd; ``make bench``
    times both).

    Args:
        nets: the ``P`` networks.
        cells, actions: ``(P, B)`` int64 states and actions of the minibatches.
        targets: ``(P, B)`` TD targets ``y``.
        weights: ``(P,)`` loss weight per agent (1 = training, 0 = frozen).
        grads: output buffer (same layout as ``nets``), overwritten.

    Returns:
        ``(P,)`` each agent's mean squared TD error (unweighted).
    """
    p, H = nets.params, nets.hidden
    P, B = cells.shape
    w1_rows, pre = nets.lookup(cells)
    pre = pre + p["b1"].unsqueeze(1)  # (P, B, H)
    h = torch.relu(pre)
    q = q_from_hidden(h, nets.w2t, p["b2"])  # (P, B, 4)
    err = q.gather(2, actions.unsqueeze(-1)).squeeze(-1) - targets  # (P, B)
    d = err * (weights.unsqueeze(1) * (2.0 / B))  # dLoss/dq at the taken action
    w2_rows = (actions + (nets.base + nets.w2_row)).reshape(-1)
    dh = nets.rows.index_select(0, w2_rows).view(P, B, H) * d.unsqueeze(-1)
    dh.mul_(pre > 0)
    b1_rows = (nets.base + nets.b1_row).expand(P, B).reshape(-1)
    grads.flat.zero_()
    grads.rows.index_add_(0, torch.cat((w1_rows, b1_rows, w2_rows)),
                          torch.cat((dh, dh, h * d.unsqueeze(-1))).view(-1, H))
    b2_at = actions + (nets.base * H + nets.b2_at)  # base * H = agent * width
    grads.flat.view(-1).index_add_(0, b2_at.reshape(-1), d.reshape(-1))
    return (err * err).mean(1)


def td_gradients_autograd(nets: Nets, cells: torch.Tensor, actions: torch.Tensor,
                          targets: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor,
                                                                                 torch.Tensor]:
    """The same gradients as :func:`td_gradients` through autograd (for tests and the bench).

    Returns ``(grad (P, width), mse (P,))``.
    """
    flat = nets.flat.detach().requires_grad_(True)
    leaf = Nets(flat, nets.n_cells, nets.hidden)
    q = q_values(leaf.params, cells).gather(2, actions.unsqueeze(-1)).squeeze(-1)
    per_agent = ((q - targets) ** 2).mean(1)
    (per_agent * weights).sum().backward()
    return flat.grad, per_agent.detach()
