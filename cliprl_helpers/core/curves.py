"""Learning curves as tidy tables: the fraction of optimal cells after each evaluation, one
row per (curve, evaluation), for plotting and for the transfer metrics read off a curve."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .experiment import GridResult


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


def finetune_curves(result: GridResult) -> pd.DataFrame:
    """Tidy learning curves of the target fine-tuning: trial, method, env_steps, fraction."""
    methods = list(dict.fromkeys(result.table.method))
    T, M = result.table.trial.nunique(), len(methods)
    c = result.finetune.curve  # (K, T * M), trial-major
    curves = c.reshape(c.shape[0], T, M).transpose(1, 0, 2)
    return curves_frame(result.finetune.curve_steps, curves, methods, label_name="method")
