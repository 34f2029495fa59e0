"""Fixtures shared by the tests of the published results (published, compare, reproduce)."""

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
