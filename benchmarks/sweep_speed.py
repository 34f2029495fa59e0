"""The whole Figure-2 sweep from an empty cache, timed (``make bench``).

Runs ``python -m cliprl_helpers.repro.sweep --jobs 2`` (4 grid sizes x 2 readings x ``trials``
trials, every method) into a temporary folder with a temporary, empty ``artifacts/`` cache,
so every base policy, alignment and fine-tuning run is trained.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time

SWEEP_GOAL_S = {10: 45.0, 30: 120.0}


def bench_sweep(trials: int = 10, jobs: int = 2) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CLIPRL_ARTIFACTS": os.path.join(tmp, "artifacts")}
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "cliprl_helpers.repro.sweep", "--jobs",
                               str(jobs), "--trials", str(trials), "--out",
                               os.path.join(tmp, "runs")],
                              env=env, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    # the sweep's own lines, e.g. "done chapter 05, grid 25 in 56.8 s" (training + notebook)
    per_run = {int(n): float(x) for n, x in
               re.findall(r"done chapter 05, grid (\d+) in\s+([\d.]+) s", done.stdout)}
    return {"trials": trials, "jobs": jobs, "wall_s": wall, "per_run_s": per_run}


def report(r: dict) -> str:
    goal = SWEEP_GOAL_S.get(r["trials"])
    met = "" if goal is None else \
        f"; goal <= {goal:.0f} s: {'met' if r['wall_s'] <= goal else 'NOT met'}"
    runs = ", ".join(f"{n}x{n} {x:.1f} s" for n, x in sorted(r.get("per_run_s", {}).items()))
    return (f"Figure-2 sweep from an empty cache (4 sizes x 2 readings x {r['trials']} trials, "
            f"--jobs {r['jobs']}): {r['wall_s']:.1f} s wall, process start included{met}"
            + (f"\n  per grid size (training + notebook, on one worker): {runs}" if runs else ""))
