"""Population DQN: 4 paper tasks x 10 seeds trained batched vs one agent at a time."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from tqdm.auto import tqdm

from cliprl_helpers.base_policies import agent_seed
from cliprl_helpers.dqn import DQNConfig, init_params, init_seeds, train_population
from cliprl_helpers.tasks import paper_tasks


def _warm_up(size: int, goals, seeds, init, cfg: DQNConfig) -> None:
    """A short untimed run of both code paths (40 agents, then 1 agent).

    The first training run in a process pays one-off costs (thread pools, kernel
    dispatch caches, first-touch memory) that are not per-agent work; without a warm-up
    they would land on whichever path is timed first.
    """
    short = dataclasses.replace(cfg, budget_steps=cfg.learning_starts + 64 * cfg.envs_per_agent)
    train_population(size, goals, seeds, short, params=init, progress=False)
    train_population(size, goals[:1], seeds[:1], short,
                     params={k: v[:1] for k, v in init.items()}, progress=False)


def bench_dqn(size: int, n_trials: int = 10, config: DQNConfig | None = None,
              sequential: bool = True) -> dict:
    """Train the paper's base tasks of ``n_trials`` trials both ways; return timings."""
    cfg = config or DQNConfig()
    bases = paper_tasks(size).bases
    trials = list(range(n_trials))
    goals = [g for _ in trials for g in bases.values()]
    seeds = [agent_seed(t, "base", i) for t in trials for i in range(len(bases))]
    init = init_params(size, cfg.hidden, init_seeds(trials, len(bases), "shared"))
    _warm_up(size, goals, seeds, init, cfg)

    t0 = time.perf_counter()
    pop = train_population(size, goals, seeds, cfg, params=init, progress=False)
    batched_s = time.perf_counter() - t0
    steps = pop.steps_to_converge
    out = {"size": size, "agents": len(goals), "batched_s": batched_s,
           "batched_env_steps": pop.env_steps, "censored": int(pop.censored.sum()),
           "median_steps": float(np.median(steps)), "max_steps": int(steps.max()),
           # A population runs until its slowest agent is done, and one iteration can't
           # cost less than one agent's iteration: the best any batching can do.
           "ceiling": float(np.sum(steps) / max(int(steps.max()), 1))}
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
        speedup = r["sequential_s"] / r["batched_s"]
        lines.append(f"  one at a time {r['sequential_s']:8.1f} s  "
                     f"{r['sequential_env_steps'] / r['sequential_s']:>12,.0f} env steps/s"
                     f"  -> speedup {speedup:.1f}x")
        lines.append(f"  ceiling: total / slowest agent's steps = {r['ceiling']:.1f}x "
                     f"(a population can't finish before its slowest agent); "
                     f"reached {speedup / r['ceiling']:.0%} of it")
    return "\n".join(lines)
