"""log and exp through the C library: numpy's baseline bits, whatever numpy's dispatch."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cliprl_helpers.analysis import libm
from cliprl_helpers.core import numerics

ROOT = Path(__file__).resolve().parents[1]


def test_values_shapes_and_edges_are_numpys():
    x = np.array([[1.0, math.e], [0.5, 1e300]])
    got = libm.log(x)
    assert got.shape == (2, 2) and got[0, 0] == 0.0 and got[0, 1] == 1.0
    assert libm.log(2.0) == math.log(2.0) and isinstance(libm.log(2), float)
    s = pd.Series([1.0, 4.0], index=[7, 9], name="r")
    out = libm.exp(libm.log(s))
    assert list(out.index) == [7, 9] and out.name == "r" and out[9] == pytest.approx(4.0)
    with np.errstate(all="ignore"):
        for v in (0.0, -1.0, math.nan, math.inf):
            assert np.array_equal(libm.log(np.array([v])), np.log(np.array([v])),
                                  equal_nan=True), v
        for v in (-math.inf, 1000.0, math.nan, -1000.0):
            assert np.array_equal(libm.exp(np.array([v])), np.exp(np.array([v])),
                                  equal_nan=True), v
    assert libm.log(np.array([])).shape == (0,)


def test_bits_equal_numpys_loops_in_reference_numerics():
    """This process runs numpy capped at AVX2 (reference numerics), where numpy's float64 log
    and exp call the C library, as at its baseline: the same bits as libm's."""
    assert numerics.numpy_too_wide() == []
    x = np.random.default_rng(0).integers(1, 2**40, 50_000) / 2.0**20
    assert np.array_equal(libm.log(x), np.log(x))
    y = np.log(x) / 10
    assert np.array_equal(libm.exp(y), np.exp(y))


# The statistics of a fixed table of steps (the published headline sweep), printed to the bit.
ANALYSIS = """
import hashlib, json, sys
import cliprl_helpers
import numpy as np, pandas as pd
from cliprl_helpers.core import experiment, numerics
from cliprl_helpers.analysis import claims, ratios, sentences, stats
table = pd.read_csv(sys.argv[1])
table = table[table.trial < 12]
out = {
    "verdict": claims.verdict(table, 128).to_csv(),
    "ratios": stats.ratio_table(table, "algorithm2", "algorithm1",
                                ["target_reading", "grid_size"], 128).to_csv(),
    "summary": ratios.ratio_summary(
        table.assign(setting=table.target_reading), "algorithm2", "scratch").to_csv(),
    "power": sentences.power_text(table, 128),
}
x = np.random.default_rng(0).integers(1, 2**40, 100_000) / 2.0**30
print(json.dumps({"analysis": hashlib.sha256(json.dumps(out, sort_keys=True).encode())
                  .hexdigest(), "np.log": hashlib.sha256(np.log(x).tobytes()).hexdigest(),
                  "dispatch": numerics.numpy_dispatch()}))
"""


def run_analysis(**env) -> dict:
    done = subprocess.run([sys.executable, "-c", ANALYSIS, str(ROOT / "results" /
                                                            "headline.csv")],
                          env=numerics.child_environment("native", **env), cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not numerics.x86_64(), reason="numpy's x86-64 dispatch targets")
def test_the_analysis_gives_the_same_bits_at_numpys_baseline_and_widest_dispatch():
    widest = run_analysis()
    baseline = run_analysis(NPY_DISABLE_CPU_FEATURES="X86_V3," + numerics.NUMPY_DISPATCH_OFF)
    assert baseline["dispatch"] == [] and widest["dispatch"], (baseline, widest)
    assert widest["analysis"] == baseline["analysis"]
    # the check of the test: where the CPU has AVX-512, numpy's own log does change
    if "X86_V4" in widest["dispatch"]:
        assert widest["np.log"] != baseline["np.log"]


def test_the_statistics_modules_take_log_and_exp_from_libm():
    modules = [*(ROOT / "cliprl_helpers" / "analysis").glob("*.py"),
               *(ROOT / "cliprl_helpers" / "repro").glob("*.py")]
    assert len(modules) > 10
    drawn = {"plotting.py", "grid_figures.py"}  # figures: pixels, not compared numbers
    for path in (m for m in modules if m.name not in drawn):
        src = path.read_text()
        assert "np.log(" not in src and "np.exp(" not in src, path.name
