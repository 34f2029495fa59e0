"""The whole Figure-2 sweep from an empty cache, timed (``make bench``).

Runs ``python -m cliprl_helpers.sweep --jobs 2`` (4 grid sizes x 2 readings x ``trials``
trials, every method) into a temporary folder with a temporary, empty ``artifacts/`` cache,
so every base policy, alignment and fine-tuning run is trained.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

SWEEP_GOAL_S = {10: 45.0, 30: 120.0}


def bench_sweep(trials: int = 10, jobs: int = 2) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CLIPRL_ARTIFACTS": os.path.join(tmp, "artifacts")}
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cliprl_helpers.sweep", "--jobs", str(jobs),
                        "--trials", str(trials), "--out", os.path.join(tmp, "runs")],
                       env=env, check=True, capture_output=True)
        return {"trials": trials, "jobs": jobs, "wall_s": time.perf_counter() - t0}


def report(r: dict) -> str:
    goal = SWEEP_GOAL_S.get(r["trials"])
    met = "" if goal is None else \
        f"; goal <= {goal:.0f} s: {'met' if r['wall_s'] <= goal else 'NOT met'}"
    return (f"Figure-2 sweep from an empty cache (4 sizes x 2 readings x {r['trials']} trials, "
            f"--jobs {r['jobs']}): {r['wall_s']:.1f} s wall, process start included{met}")
