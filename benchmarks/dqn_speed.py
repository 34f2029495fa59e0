"""Population DQN: 4 paper tasks x 10 seeds trained batched vs one agent at a time."""

from __future__ import annotations

import time

import numpy as np
from tqdm.auto import tqdm

from cliprl_helpers.base_policies import agent_seed
from cliprl_helpers.dqn import DQNConfig, init_params, init_seeds, train_population
from cliprl_helpers.tasks import paper_tasks


def bench_dqn(size: int, n_trials: int = 10, config: DQNConfig | None = None,
              sequential: bool = True) -> dict:
    """Train the paper's base tasks of ``n_trials`` trials both ways; return timings."""
    cfg = config or DQNConfig()
    bases = paper_tasks(size).bases
    trials = list(range(n_trials))
    goals = [g for _ in trials for g in bases.values()]
    seeds = [agent_seed(t, "base", i) for t in trials for i in range(len(bases))]
    init = init_params(size, cfg.hidden, init_seeds(trials, len(bases), "shared"))

    t0 = time.perf_counter()
    pop = train_population(size, goals, seeds, cfg, params=init, progress=False)
    batched_s = time.perf_counter() - t0
    out = {"size": size, "agents": len(goals), "batched_s": batched_s,
           "batched_env_steps": pop.env_steps, "censored": int(pop.censored.sum()),
           "median_steps": float(np.median(pop.steps_to_converge)),
           "max_steps": int(pop.steps_to_converge.max())}
    if sequential:
        t0, steps = time.perf_counter(), 0
        for i in tqdm(range(len(goals)), desc=f"one at a time {size}x{size}", leave=False):
            alone = train_population(size, [goals[i]], [seeds[i]], cfg,
                                     params={k: v[i:i + 1] for k, v in init.items()},
                                     progress=False)
            steps += alone.env_steps
        out["sequential_s"] = time.perf_counter() - t0
        out["sequential_env_steps"] = steps
    return out


def report(r: dict) -> str:
    lines = [f"population DQN, {r['agents']} agents (4 tasks x 10 seeds) on "
             f"{r['size']}x{r['size']}:",
             f"  batched       {r['batched_s']:8.1f} s  "
             f"{r['batched_env_steps'] / r['batched_s']:>12,.0f} env steps/s  "
             f"(median {r['median_steps']:,.0f}, max {r['max_steps']:,} steps to converge; "
             f"{r['censored']} censored)"]
    if "sequential_s" in r:
        lines.append(f"  one at a time {r['sequential_s']:8.1f} s  "
                     f"{r['sequential_env_steps'] / r['sequential_s']:>12,.0f} env steps/s"
                     f"  -> speedup {r['sequential_s'] / r['batched_s']:.1f}x")
    return "\n".join(lines)
