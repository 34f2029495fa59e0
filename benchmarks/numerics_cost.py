"""The cost of reference numerics: the same work timed in reference and in native numerics.

Each measurement runs in a fresh interpreter whose environment carries only the mode
(``CLIPRL_NUMERICS``), so the reference pins of this process are not inherited by the native
one: 40 base agents on 25x25 trained as one population, and ``run_grid(15, n_trials=6)`` from
an empty cache (sentence embeddings, base policies, alignments, every method's fine-tuning).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

WORK = ("population 25x25", "run_grid 15x15, 6 trials")


def _child(what: str) -> float:
    import tempfile
    import time
    import warnings

    import cliprl_helpers  # noqa: F401  (pins the mode of this process)

    if what == WORK[0]:
        from .dqn_speed import time_batched

        return time_batched(25)["batched_s"]
    from cliprl_helpers.core.experiment import run_grid

    with tempfile.TemporaryDirectory() as d, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.environ["CLIPRL_ARTIFACTS"] = d
        t0 = time.perf_counter()
        run_grid(15, n_trials=6, cache_dir=d, progress=False)
        return time.perf_counter() - t0


def time_in(mode: str, what: str) -> float:
    """Seconds ``what`` takes in a fresh process computing in numerics ``mode``."""
    from cliprl_helpers.core import numerics

    env = numerics.child_environment(mode)
    done = subprocess.run([sys.executable, "-m", "benchmarks.numerics_cost", what], env=env,
                          capture_output=True, text=True, check=True)
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def bench_numerics() -> dict:
    return {what: {mode: time_in(mode, what) for mode in ("reference", "native")}
            for what in WORK}


def report(r: dict) -> str:
    lines = ["Reference numerics against this CPU's native kernels (fresh processes):"]
    for what, t in r.items():
        lines.append(f"  {what}: {t['reference']:.1f} s reference, {t['native']:.1f} s native "
                     f"({t['reference'] / t['native']:.2f}x)")
    return "\n".join(lines)


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1])))
