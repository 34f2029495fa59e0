"""Similarities -> weights -> one averaged policy: step 2 of Algorithm 1, step 3 of Algorithm 2.

Both algorithms end with ``nn(pi') = sum_i d_i nn(pi_i) / sum_i d_i``: a weighted average of
the base policies' weights, weighted by similarities ``d_i`` to the target instruction.
Algorithm 1 takes ``d_i`` as the cosine between raw sentence embeddings; Algorithm 2 as the
cosine between *projected* instruction embeddings (see :mod:`cliprl_helpers.core.alignment`).

Weighting schemes (``WEIGHTINGS``):

* ``paper``    — ``d_i / sum(d)`` exactly as printed. Cosines can be negative; then some
  weights are negative or above 1 and the average *extrapolates*. That is reported (a
  warning and ``info["negative"]``); a sum near zero raises ``ValueError``.
* ``softmax``  — ``softmax(d / temperature)``.
* ``positive`` — negative similarities clipped to 0, then normalised.
* ``top1``     — all weight on the most similar base (the paper's "closest instruction").
"""

from __future__ import annotations

import warnings

import torch

from . import checks

WEIGHTINGS = ("paper", "softmax", "positive", "top1")
#: An absolute sum of similarities below this is "near zero" for the paper's normalisation.
SUM_EPS = 1e-6


class NegativeWeightWarning(UserWarning):
    """The paper's normalisation met a negative similarity: the average extrapolates."""


def check_instructions(target: str, bases: list[str] | tuple[str, ...]) -> list[str]:
    """Validate a target and its base instructions; return the bases as a list."""
    bases = list(bases)
    if not bases:
        raise ValueError("no base instructions given: transfer needs at least one base task")
    if not isinstance(target, str) or not target.strip():
        raise ValueError(f"the target instruction must be a non-empty string, got {target!r}")
    if target in bases:
        raise ValueError(f"the target {target!r} is one of the base instructions; transfer "
                         f"needs a new task (bases: {bases})")
    return bases


def similarity_weights(d: torch.Tensor, scheme: str = "paper",
                       temperature: float = 0.1) -> tuple[torch.Tensor, dict]:
    """Turn similarities ``d`` ``(N,)`` into averaging weights ``(N,)`` (float64).

    Returns ``(weights, info)``; ``info`` has ``negative`` (a weight < 0 under ``paper``),
    ``extrapolates`` (a weight outside [0, 1]) and ``sum`` (of the similarities).
    """
    checks.choice("weighting scheme", scheme, WEIGHTINGS)
    d = checks.finite("similarities d", d).to(torch.float64).reshape(-1)
    if d.numel() == 0:
        raise ValueError("no similarities given: need one per base policy")
    info = {"sum": float(d.sum()), "negative": False, "extrapolates": False}
    if scheme == "paper":
        if abs(info["sum"]) < SUM_EPS:
            raise ValueError(f"the similarities sum to {info['sum']:.3g} (near zero): the "
                             f"paper's d_i / sum(d) is undefined; use weighting 'softmax', "
                             f"'positive' or 'top1'")
        w = d / d.sum()
        if bool((w < 0).any()):
            info["negative"] = True
            warnings.warn(f"paper weighting with negative weights {w.tolist()}: the "
                          f"average extrapolates beyond the base policies",
                          NegativeWeightWarning, stacklevel=2)
    elif scheme == "softmax":
        temperature = checks.positive_real("softmax temperature", temperature)
        w = torch.softmax(d / temperature, dim=0)
    elif scheme == "positive":
        p = d.clamp(min=0)
        if float(p.sum()) < SUM_EPS:
            raise ValueError(f"no positive similarity among {d.tolist()}: 'positive' "
                             f"weighting is undefined; use 'softmax' or 'top1'")
        w = p / p.sum()
    else:
        w = torch.zeros_like(d)
        w[int(d.argmax())] = 1.0
    info["extrapolates"] = bool(((w < 0) | (w > 1)).any())
    return w, info


def average_policies(policies: list[dict[str, torch.Tensor]],
                     weights: torch.Tensor) -> dict[str, torch.Tensor]:
    """``sum_i w_i * policy_i``, tensor by tensor.

    Args:
        policies: ``N`` policies with the same keys and shapes.
        weights: ``(N,)``.

    Raises ``ValueError`` for mismatched keys or shapes or a wrong number of weights.
    """
    if not policies:
        raise ValueError("no policies to average")
    weights = checks.finite("averaging weights", weights).to(torch.float64).reshape(-1)
    if weights.numel() != len(policies):
        raise ValueError(f"got {weights.numel()} weights for {len(policies)} policies")
    if abs(float(weights.sum())) < SUM_EPS:
        raise ValueError(f"the averaging weights {weights.tolist()} sum to "
                         f"{float(weights.sum()):.3g}: a weighted average needs weights that sum "
                         f"to a non-zero value (1 for every weighting scheme here)")
    if not all(isinstance(p, dict) and all(isinstance(v, torch.Tensor) for v in p.values())
               for p in policies):
        raise ValueError("policies must be dicts of name -> torch.Tensor")
    ref = policies[0]
    for i, p in enumerate(policies[1:], start=1):
        if set(p) != set(ref):
            raise ValueError(f"policy {i} has tensors {sorted(p)}, policy 0 has {sorted(ref)}: "
                             f"only policies of one architecture can be averaged")
        for k in ref:
            if p[k].shape != ref[k].shape:
                raise ValueError(f"policy {i} has {k} of shape {tuple(p[k].shape)}, policy 0 "
                                 f"of shape {tuple(ref[k].shape)}: only policies of one "
                                 f"architecture can be averaged")
    for i, p in enumerate(policies):
        for k, v in p.items():
            checks.finite(f"policy {i} tensor {k!r}", v)
    return {k: sum(float(w) * p[k].to(torch.float64) for w, p in zip(weights, policies,
                                                                     strict=True)).to(ref[k].dtype)
            for k in ref}


def nearest_goal_weights(target_goal: tuple[int, int],
                         base_goals: list[tuple[int, int]]) -> torch.Tensor:
    """The oracle: all weight on the base whose goal is nearest (Manhattan) the target's.

    Ties go to the first base listed.
    """
    if isinstance(base_goals, (str, bytes)) or not len(base_goals):
        raise ValueError(f"base_goals must list at least one (row, col) goal, got {base_goals!r}")
    bad = [g for g in [target_goal, *base_goals] if isinstance(g, (str, bytes)) or len(g) != 2]
    if bad:
        raise ValueError(f"goals must be (row, col) pairs, got {bad[0]!r}")
    dist = torch.tensor([abs(g[0] - target_goal[0]) + abs(g[1] - target_goal[1])
                         for g in base_goals], dtype=torch.float64)
    w = torch.zeros_like(dist)
    w[int(dist.argmin())] = 1.0
    return w
