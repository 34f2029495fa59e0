"""Fixtures shared by the tests of the published results (published, compare, reproduce)."""

import math

import numpy as np
import pandas as pd
import pytest

from cliprl_helpers.repro import reproduce

PROVENANCE = {"guaranteed": True, "numerics": ["reference"], "cpus": ["Test CPU"],
              "git_commit": "0123456789abcdef", "description": "reference numerics"}


def results_table(trials=3, steps=None):
    """A small headline-like table: 3 methods x 2 readings x ``trials`` on 8x8 (``steps``:
    the first row's steps, to make it differ)."""
    rows = []
    for t in range(trials):
        for m, base in (("algorithm1", 1000), ("algorithm2", 1500), ("scratch", 3000)):
            for reading in ("as_printed", "self_consistent"):
                rows.append({"grid_size": 8, "target_reading": reading, "trial": t, "method": m,
                             "initial_fraction": 0.1 + t / 3, "steps_to_converge": base + 128 * t,
                             "censored": False, "resolution": 128, "wall_s": 0.5 + t})
    table = pd.DataFrame(rows)
    if steps is not None:
        table.loc[0, "steps_to_converge"] = steps
    return table


@pytest.fixture
def results(tmp_path):
    """A results folder holding a published ``headline`` (:func:`results_table`)."""
    reproduce.write("headline", results_table(), PROVENANCE, results_dir=tmp_path)
    return tmp_path


def per_size_table(medians, n=10, spread=0.05, seed=0):
    rng = np.random.default_rng(seed)
    return {size: np.exp(np.log(m) + spread * rng.standard_normal(n))
            for size, m in medians.items()}


def sweep_table(medians_by_reading, n_trials=6, seed=0):
    """A synthetic summary.csv: per reading and size, Algorithm 2 / Algorithm 1 ratios near
    the given medians; scratch twice Algorithm 1."""
    rng = np.random.default_rng(seed)
    rows = []
    for reading, medians in medians_by_reading.items():
        for n, m in medians.items():
            for t in range(n_trials):
                a1 = 10_000 * (1 + 0.1 * t)
                a2 = a1 * m * math.exp(0.05 * rng.standard_normal())
                for method, steps in (("scratch", 2 * a1), ("algorithm1", a1),
                                      ("algorithm2", a2), ("oracle", a1)):
                    rows.append({"target_reading": reading, "grid_size": n, "trial": t,
                                 "method": method, "steps_to_converge": int(steps),
                                 "censored": False})
    return pd.DataFrame(rows)
