"""Population DQN: 4 paper tasks x 10 seeds trained batched vs one agent at a time.

Each way is timed in a fresh interpreter (:func:`benchmarks.fresh.in_fresh_process`).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from tqdm.auto import tqdm

from cliprl_helpers.core.base_policies import agent_seed
from cliprl_helpers.core.dqn import DQNConfig, init_params, init_seeds, train_population
from cliprl_helpers.core.tasks import paper_tasks

from .fresh import in_fresh_process


def _population(size: int, n_trials: int, cfg: DQNConfig):
    bases = paper_tasks(size).bases
    trials = list(range(n_trials))
    goals = [g for _ in trials for g in bases.values()]
    seeds = [agent_seed(t, "base", i) for t in trials for i in range(len(bases))]
    init = init_params(size, cfg.hidden, init_seeds(trials, len(bases), "shared"))
    return goals, seeds, init


def _warm_up(size: int, goals, seeds, init, cfg: DQNConfig) -> None:
    """A short untimed run of the path about to be timed (the whole population, or one agent).

    The first training run in a process pays one-off costs (thread pools, kernel dispatch
    caches, first-touch memory) that are not per-agent work.
    """
    short = dataclasses.replace(cfg, budget_steps=cfg.learning_starts + 64 * cfg.envs_per_agent)
    train_population(size, goals, seeds, short,
                     params={k: v[:len(goals)] for k, v in init.items()}, progress=False)


def time_batched(size: int, n_trials: int = 10, config: DQNConfig | None = None) -> dict:
    """All ``4 * n_trials`` agents as one population."""
    cfg = config or DQNConfig()
    goals, seeds, init = _population(size, n_trials, cfg)
    _warm_up(size, goals, seeds, init, cfg)
    t0 = time.perf_counter()
    pop = train_population(size, goals, seeds, cfg, params=init, progress=False)
    batched_s = time.perf_counter() - t0
    steps = pop.steps_to_converge
    slowest = max(int(steps.max()), 1)
    return {"size": size, "agents": len(goals), "batched_s": batched_s,
            "batched_env_steps": pop.env_steps, "censored": int(pop.censored.sum()),
            "median_steps": float(np.median(steps)), "max_steps": int(steps.max()),
            # A population runs until its slowest agent is done; if one of its iterations cost
            # what one agent's does, this would be the speed-up (per-run setup aside).
            "ceiling": float(np.sum(steps) / slowest),
            "iter_ms_population": 1e3 * batched_s * cfg.envs_per_agent / slowest}


def time_sequential(size: int, n_trials: int = 10, config: DQNConfig | None = None) -> dict:
    """The same agents one at a time: the same code with a population of 1."""
    cfg = config or DQNConfig()
    goals, seeds, init = _population(size, n_trials, cfg)

    def alone(i):
        return train_population(size, [goals[i]], [seeds[i]], cfg,
                                params={k: v[i:i + 1] for k, v in init.items()}, progress=False)

    _warm_up(size, goals[:1], seeds[:1], init, cfg)
    t0, steps = time.perf_counter(), 0
    for i in tqdm(range(len(goals)), desc=f"one at a time {size}x{size}", leave=False,
                  disable=None):  # no bar when the output is not a terminal
        steps += alone(i).env_steps
    sequential_s = time.perf_counter() - t0
    return {"sequential_s": sequential_s, "sequential_env_steps": steps,
            "iter_ms_alone": 1e3 * sequential_s * cfg.envs_per_agent / steps}


def bench_dqn(size: int, n_trials: int = 10, config: DQNConfig | None = None,
              sequential: bool = True) -> dict:
    """Both timings, each in a fresh process; the dict :func:`report` prints."""
    out = in_fresh_process(time_batched, size, n_trials, config)
    if sequential:
        out.update(in_fresh_process(time_sequential, size, n_trials, config))
    return out


def report(r: dict) -> str:
    lines = [f"population DQN, {r['agents']} agents (4 tasks x {r['agents'] // 4} seeds) on "
             f"{r['size']}x{r['size']}:",
             f"  batched       {r['batched_s']:8.1f} s  "
             f"{r['batched_env_steps'] / r['batched_s']:>12,.0f} env steps/s  "
             f"(median {r['median_steps']:,.0f}, max {r['max_steps']:,} steps to converge; "
             f"{r['censored']} censored)"]
    if "sequential_s" in r:
        speedup = r["sequential_s"] / r["batched_s"]
        lines += [
            f"  one at a time {r['sequential_s']:8.1f} s  "
            f"{r['sequential_env_steps'] / r['sequential_s']:>12,.0f} env steps/s"
            f"  -> speedup {speedup:.1f}x",
            f"  ceiling: total / slowest agent's steps = {r['ceiling']:.1f}x (a population "
            f"runs until its slowest agent converges; the speed-up if one of its iterations "
            f"cost what one agent's does); reached {speedup / r['ceiling']:.0%} of it",
            f"  mean time per iteration: one agent alone {r['iter_ms_alone']:.2f} ms, "
            f"the population ({r['agents']} agents, fewer as they converge) "
            f"{r['iter_ms_population']:.2f} ms; speedup = ceiling x "
            f"{r['iter_ms_alone'] / r['iter_ms_population']:.2f}"]
    return "\n".join(lines)
