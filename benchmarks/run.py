"""`make bench`: measure the batched code against one-at-a-time code, in one run."""

from __future__ import annotations

import os
import time

import torch

from . import dqn_speed, env_speed, grad_speed, numerics_cost, sweep_speed
from .fresh import in_fresh_process

SPEEDUP_GOAL = 20.0  # at 40 agents, batched vs one at a time


def main() -> None:
    from cliprl_helpers.core import numerics

    print(f"machine: {os.cpu_count()} CPU cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} torch threads; {numerics.describe()}\n", flush=True)
    t0 = time.perf_counter()
    print(env_speed.report(in_fresh_process(env_speed.bench_env)), flush=True)
    for size in (10, 25):
        r = dqn_speed.bench_dqn(size)
        print(dqn_speed.report(r), flush=True)
        speedup = r["sequential_s"] / r["batched_s"]
        print(f"  speed-up goal of {SPEEDUP_GOAL:.0f}x: "
              f"{'met' if speedup >= SPEEDUP_GOAL else 'NOT met'} ({speedup:.1f}x)")
        if speedup < SPEEDUP_GOAL:
            # speedup = ceiling x (alone / population iteration time), see dqn_speed.report
            allowed = r["ceiling"] / SPEEDUP_GOAL
            measured = r["iter_ms_population"] / r["iter_ms_alone"]
            print(f"  to reach it, an iteration of the population could cost at most "
                  f"{allowed:.2f}x one agent's; it costs {measured:.2f}x"
                  + (" (no batched trainer can: the goal is above the ceiling)"
                     if allowed < 1 else ""))
        if size == 25:
            ok = r["censored"] == 0 and r["batched_s"] < 60
            print(f"  40 agents on 25x25 converged in under 60 s: {'yes' if ok else 'NO'}")
    for size in (10, 25):
        print(grad_speed.report(in_fresh_process(grad_speed.bench_grad, size)), flush=True)
    for trials in (10, 30):
        print(sweep_speed.report(sweep_speed.bench_sweep(trials)), flush=True)
    print(numerics_cost.report(numerics_cost.bench_numerics()), flush=True)
    print(f"benchmarks took {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
