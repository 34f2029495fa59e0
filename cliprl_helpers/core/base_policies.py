"""Step 1 of both algorithms: train the base policies of every trial, once, and cache them.

Each trial's base tasks are one :class:`~cliprl_helpers.core.training.Job`; the jobs of the
trials not yet cached train together as one population and are cached one per trial by
:func:`~cliprl_helpers.core.training.train_jobs` (the package's one cache of trained
populations), so re-running a notebook with the same parameters loads instead of retraining,
and a trial's policies do not depend on which other trials trained beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .dqn import PARAM_NAMES, DQNConfig, init_params, init_seeds, q_table
from .mdp import World, as_world
from .training import Job, train_jobs


def agent_seed(trial_seed: int, role: str, index: int) -> int:
    """The random-stream seed of agent ``index`` of ``role`` (e.g. "base") in a trial.

    Every random stream of a trial derives from its seed, and no two agents share one.
    """
    role_id = {"base": 1, "target": 2}.get(role)
    if role_id is None:
        raise ValueError(f"unknown role {role!r}: allowed are 'base', 'target'")
    return int(trial_seed) * 100_003 + role_id * 1_009 + 31 * int(index)


@dataclass
class BasePolicies:
    """Trained base policies of ``T`` trials x ``N`` tasks.

    Attributes:
        world: the :class:`~cliprl_helpers.core.mdp.World` they live in.
        instructions, goals: the ``N`` base tasks.
        trial_seeds: the ``T`` trial seeds.
        init_mode: ``"shared"`` or ``"independent"`` initial weights.
        config: the DQN hyperparameters.
        params: ``{"W1": (T, N, n*n, H), "b1": (T, N, H), "W2": (T, N, H, 4), "b2": (T, N, 4)}``.
        table: one row per (trial, task): steps_to_converge, censored, wall_s, ...
        curve_steps: ``(K,)`` env steps per agent at each evaluation.
        curves: ``(T, K, N)`` optimal-cell fraction at each evaluation (NaN after the end).
        from_cache: which trials were loaded rather than trained.
    """

    world: World
    instructions: list[str]
    goals: list[tuple[int, int]]
    trial_seeds: list[int]
    init_mode: str
    config: DQNConfig
    params: dict[str, torch.Tensor]
    table: pd.DataFrame
    curve_steps: np.ndarray
    curves: np.ndarray
    from_cache: list[bool]

    def flat(self, trial: int) -> torch.Tensor:
        """The ``N`` policies of trial index ``trial`` as flat weight vectors ``(N, D)``."""
        return torch.cat([self.params[k][trial].reshape(len(self.goals), -1)
                          for k in PARAM_NAMES], dim=1)

    def qvalues(self, trial: int) -> torch.Tensor:
        """The ``N`` policies of trial ``trial`` as behaviour: Q-values of every cell,
        flattened, ``(N, n*n*4)``."""
        return q_table({k: self.params[k][trial] for k in PARAM_NAMES}).reshape(
            len(self.goals), -1)

    def subset(self, instructions: list[str]) -> BasePolicies:
        """The same trained policies restricted to ``instructions`` (in that order)."""
        missing = [i for i in instructions if i not in self.instructions]
        if missing:
            raise ValueError(f"instructions {missing} are not among the trained bases "
                             f"{self.instructions}")
        idx = [self.instructions.index(i) for i in instructions]
        return BasePolicies(
            world=self.world, instructions=list(instructions),
            goals=[self.goals[i] for i in idx], trial_seeds=self.trial_seeds,
            init_mode=self.init_mode, config=self.config,
            params={k: v[:, idx] for k, v in self.params.items()},
            table=self.table[self.table.instruction.isin(instructions)].reset_index(drop=True),
            curve_steps=self.curve_steps, curves=self.curves[:, :, idx],
            from_cache=self.from_cache)


def train_base_policies(world: World | int, bases: dict[str, tuple[int, int]], trial_seeds,
                        config: DQNConfig | None = None, init_mode: str = "shared",
                        cache_dir: str | Path | None = None, use_cache: bool = True,
                        progress: bool = True) -> BasePolicies:
    """Train (or load) the base policies of every trial.

    Args:
        world: the :class:`~cliprl_helpers.core.mdp.World` (e.g. a Minigrid room), or a grid
            side ``n`` for the ``n x n`` GoalGrid.
        bases: ``{instruction: goal}`` of the base tasks.
        trial_seeds: one seed per trial; agents' streams and (shared) initial weights
            derive from it.
        config: DQN hyperparameters.
        init_mode: ``"shared"`` (one initial network per trial, needed for averaging) or
            ``"independent"``.
        cache_dir: where artifacts live (default :func:`artifacts.artifacts_dir`).
        use_cache: False retrains and overwrites.
        progress: show a progress bar.
    """
    world = as_world(world)
    cfg = config or DQNConfig()
    if not bases:
        raise ValueError("no base tasks given: bases must map at least one instruction to a goal")
    bases = {str(i): world.check_goal(g) for i, g in bases.items()}
    trial_seeds = [int(s) for s in trial_seeds]
    if not trial_seeds:
        raise ValueError("no trials: give at least one trial seed")
    goals, N = list(bases.values()), len(bases)
    p0 = init_params(world, cfg.hidden, init_seeds(trial_seeds, N, init_mode))
    jobs = [Job(world, goals, [agent_seed(s, "base", i) for i in range(N)],
                {k: v[t * N:(t + 1) * N] for k, v in p0.items()}, cfg, label="base")
            for t, s in enumerate(trial_seeds)]
    results, cached = train_jobs(jobs, cache_dir=cache_dir, use_cache=use_cache,
                                 progress=progress, report_cached=True)

    K = max(len(r.curve_steps) for r in results)
    curve_steps = next(r.curve_steps for r in results if len(r.curve_steps) == K)
    curves = np.full((len(trial_seeds), K, N), np.nan)
    rows = []
    for t, (s, r) in enumerate(zip(trial_seeds, results)):
        curves[t, :len(r.curve_steps)] = r.curve
        for i, instr in enumerate(bases):
            rows.append({"trial": t, "trial_seed": s, "instruction": instr, "goal": goals[i],
                         "steps_to_converge": int(r.steps_to_converge[i]),
                         "censored": bool(r.censored[i]),
                         "wall_s": None if np.isnan(r.converge_wall_s[i])
                         else float(r.converge_wall_s[i]),
                         "population_wall_s": r.wall_s})
    params = {k: torch.stack([r.params[k] for r in results]) for k in PARAM_NAMES}
    return BasePolicies(world=world, instructions=list(bases), goals=goals,
                        trial_seeds=trial_seeds, init_mode=init_mode, config=cfg,
                        params=params, table=pd.DataFrame(rows),
                        curve_steps=np.asarray(curve_steps), curves=curves,
                        from_cache=cached)
