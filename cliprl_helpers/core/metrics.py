"""The standard transfer metrics of one agent, read off its learning curve (Taylor and
Stone, JMLR 2009): jumpstart, area under the curve, time to threshold, final value.

A fine-tuning agent's curve is recorded at every evaluation (every ``eval_every x
envs_per_agent`` env steps, the resolution): the fraction of optimal cells and the greedy
return (:class:`~cliprl_helpers.core.dqn.TrainResult`). A converged agent is frozen, so its
last value holds to the end of the budget (*carried forward*); so does the value of a
population that stopped early because every agent converged.

* **time to threshold** ``t``: env steps until the fraction first reaches ``t`` (the paper's
  metric at ``t = 1.0`` is the trainer's own ``steps_to_converge``); the budget if it never
  does (censored). A run that stops at a lower threshold cannot say when it would have reached
  a higher one: NaN.
* **jumpstart**: the values at step 0 (``initial_fraction``, ``initial_return``).
* **area under the curve**: the mean value over the first ``budget`` env steps, the curve
  taken as constant between evaluations (each value holds until the next one).
* **final value**: the value at the budget.

Sums are exactly rounded (:func:`math.fsum`), so every CPU gets the same bits.
"""

from __future__ import annotations

import math

import numpy as np

#: Thresholds of the fraction of optimal cells reported beside the trainer's own (1.0).
THRESHOLDS = (0.95, 0.9)
#: The columns :func:`curve_metrics` adds to a results table, in order.
COLUMNS = ("initial_return", *(f"steps_to_{round(100 * t):03d}" for t in THRESHOLDS),
           "auc_fraction", "auc_return", "final_fraction", "final_return")


def steps_to(curve_steps: np.ndarray, curve: np.ndarray, threshold: float,
             budget: int) -> np.ndarray:
    """Env steps until each agent's ``curve`` ``(K, P)`` first reaches ``threshold``: ``(P,)``
    int64, ``budget`` where it never does."""
    reached = curve >= threshold
    first = reached.argmax(0)
    return np.where(reached.any(0), curve_steps[first], budget).astype(np.int64)


def area(curve_steps: np.ndarray, curve: np.ndarray, budget: int) -> np.ndarray:
    """Mean of each agent's ``curve`` ``(K, P)`` over env steps ``[0, budget)``: ``(P,)``.

    Value ``k`` holds from ``curve_steps[k]`` to the next evaluation (the last one to the
    budget): a left Riemann sum on the evaluation grid, exact in the weights. Consecutive
    equal values count as one segment (its width an exact integer sum), so an agent frozen
    since it converged gets the same bits however long its population went on recording it:
    one product ``value x width`` for its whole tail, not one per evaluation.
    """
    edges = np.minimum(np.append(curve_steps, budget), budget).astype(np.int64)
    width = np.diff(edges)
    if (width < 0).any() or curve_steps[0] != 0:
        raise ValueError("curve_steps must start at 0 and increase")
    out = []
    for p in range(curve.shape[1]):
        v = curve[:, p]
        start = np.flatnonzero(np.r_[True, v[1:] != v[:-1]])  # where each run begins
        out.append(math.fsum(v[start] * np.add.reduceat(width, start)) / budget)
    return np.array(out)


def curve_metrics(curve_steps: np.ndarray, fraction: np.ndarray, greedy_return: np.ndarray,
                  budget: int, threshold: float = 1.0) -> dict[str, np.ndarray]:
    """The metrics of :data:`COLUMNS` for ``P`` agents, each ``(P,)``.

    Args:
        curve_steps: ``(K,)`` env steps per agent at each evaluation (from 0).
        fraction: ``(K, P)`` fraction of optimal cells at each evaluation.
        greedy_return: ``(K, P)`` greedy return at each evaluation.
        budget: the run's budget (env steps per agent).
        threshold: the run's own convergence threshold (agents stop there).
    """
    curve_steps = np.asarray(curve_steps)
    if fraction.shape != greedy_return.shape or fraction.shape[0] != len(curve_steps):
        raise ValueError(f"curves of shape {fraction.shape} and {greedy_return.shape} do not "
                         f"match {len(curve_steps)} evaluations")
    out = {"initial_return": greedy_return[0].astype(np.float64)}
    for t, name in zip(THRESHOLDS, COLUMNS[1:1 + len(THRESHOLDS)]):
        out[name] = (steps_to(curve_steps, fraction, t, budget).astype(np.float64)
                     if t <= threshold else np.full(fraction.shape[1], np.nan))
    out["auc_fraction"] = area(curve_steps, fraction, budget)
    out["auc_return"] = area(curve_steps, greedy_return, budget)
    out["final_fraction"] = fraction[-1].astype(np.float64)
    out["final_return"] = greedy_return[-1].astype(np.float64)
    return out
