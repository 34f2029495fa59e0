"""Summaries over trials: means and medians with 95% bootstrap intervals.

Censored runs (no convergence within the budget) enter at the budget, so a summary that
includes them is a *lower bound* on the true mean; tables say how many were censored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd


def bootstrap_ci(values, stat: Callable = np.mean, n_boot: int = 2000, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat`` over ``values`` (1-D).

    Returns ``(nan, nan)`` for fewer than two values.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size < 2:
        return (float("nan"), float("nan"))
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    boots = stat(x[idx], axis=1)
    a = (1 - level) / 2
    return float(np.quantile(boots, a)), float(np.quantile(boots, 1 - a))


def summarise(df: pd.DataFrame, by: Sequence[str], value: str = "steps_to_converge",
              censored: str | None = "censored") -> pd.DataFrame:
    """Per group: n, mean with 95% CI, median with 95% CI, and the censored count."""
    rows = []
    for key, g in df.groupby(list(by), sort=False):
        v = g[value].to_numpy(dtype=float)
        lo, hi = bootstrap_ci(v)
        mlo, mhi = bootstrap_ci(v, stat=np.median)
        row = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        row.update({"n": len(v), "mean": v.mean(), "mean_lo": lo, "mean_hi": hi,
                    "median": float(np.median(v)), "median_lo": mlo, "median_hi": mhi})
        if censored is not None:
            row["censored"] = int(g[censored].sum())
        rows.append(row)
    return pd.DataFrame(rows)


def curves_frame(curve_steps: np.ndarray, curves: np.ndarray, labels: Sequence[str],
                 label_name: str = "task") -> pd.DataFrame:
    """Tidy learning curves from ``curves`` of shape ``(T trials, K evals, N series)``.

    NaNs (evaluations after a run stopped) carry the run's last value forward: a converged
    agent stays converged.
    """
    T, K, N = curves.shape
    c = pd.DataFrame(curves.transpose(0, 2, 1).reshape(T * N, K)).ffill(axis=1).to_numpy()
    trial = np.repeat(np.arange(T), N)
    label = np.tile(np.asarray(labels, dtype=object), T)
    return pd.DataFrame({
        "trial": np.repeat(trial, K), label_name: np.repeat(label, K),
        "env_steps": np.tile(curve_steps[:K], T * N), "optimal_fraction": c.reshape(-1)})


def geo_mean_ci(ratios, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Geometric mean of positive ratios with a percentile-bootstrap interval (on the logs).

    Ratios multiply, so their natural average is geometric. Returns ``(gm, lo, hi)``.
    """
    logs = np.log(np.asarray(ratios, dtype=float))
    lo, hi = bootstrap_ci(logs, level=level, seed=seed)
    return float(np.exp(logs.mean())), float(np.exp(lo)), float(np.exp(hi))
