"""Step 1 of both algorithms: train the base policies of every trial, once, and cache them.

All (trial, base task) agents of the missing trials train together as one population
(:func:`cliprl_helpers.dqn.train_population`); each trial is then stored as one artifact
(:mod:`cliprl_helpers.artifacts`) keyed by everything that produced it, so re-running a
notebook with the same parameters loads instead of retraining.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import artifacts
from .dqn import PARAM_NAMES, TRAINER_VERSION, DQNConfig, init_params, init_seeds, train_population
from .mdp import World, as_world
from .numerics import trainer_tag


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
        size: grid side (or the :class:`~cliprl_helpers.mdp.World` they live in).
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

    size: int | World
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
        from .dqn import q_table

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
            size=self.size, instructions=list(instructions),
            goals=[self.goals[i] for i in idx], trial_seeds=self.trial_seeds,
            init_mode=self.init_mode, config=self.config,
            params={k: v[:, idx] for k, v in self.params.items()},
            table=self.table[self.table.instruction.isin(instructions)].reset_index(drop=True),
            curve_steps=self.curve_steps, curves=self.curves[:, :, idx],
            from_cache=self.from_cache)


def _trial_config(world, bases, trial_seed, config, init_mode) -> dict:
    return {"kind": "base_policies", "trainer_version": TRAINER_VERSION, "size": world.key(),
            "bases": [[i, list(g)] for i, g in bases.items()], "trial_seed": int(trial_seed),
            "init_mode": init_mode, "dqn": config.to_dict()}


def _mismatch(tensors: dict, meta: dict, config: dict, N: int, n2: int) -> str:
    """Why a cached artifact does not belong to ``config`` (``""`` if it does)."""
    H = config["dqn"]["hidden"]
    want = {"W1": (N, n2, H), "b1": (N, H), "W2": (N, H, 4), "b2": (N, 4)}
    for k, shape in want.items():
        got = tuple(tensors[k].shape) if k in tensors else None
        if got != shape:
            return f"{k} has shape {got}, expected {shape}"
    if "curve" not in tensors or "curve_steps" not in tensors or \
            tuple(tensors["curve"].shape[1:]) != (N,) or \
            tensors["curve"].shape[0] != tensors["curve_steps"].shape[0]:
        return "the learning curve has the wrong shape"
    if json.loads(json.dumps(meta.get("config"))) != json.loads(json.dumps(config)):
        return "its recorded config differs"
    for k in ("instructions", "goals", "steps_to_converge", "censored", "converge_wall_s"):
        if not isinstance(meta.get(k), list) or len(meta[k]) != N:
            return f"metadata {k!r} is missing or has the wrong length"
    if not all(bool(torch.isfinite(tensors[k]).all()) for k in PARAM_NAMES):
        return "the weights hold NaN or infinite values"
    return ""


def train_base_policies(size: int | World, bases: dict[str, tuple[int, int]], trial_seeds,
                        config: DQNConfig | None = None, init_mode: str = "shared",
                        cache_dir: str | Path | None = None, use_cache: bool = True,
                        progress: bool = True) -> BasePolicies:
    """Train (or load) the base policies of every trial.

    Args:
        size: grid side, or a :class:`~cliprl_helpers.mdp.World` (chapter 7's room).
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
    world = as_world(size)
    cfg = config or DQNConfig()
    if not bases:
        raise ValueError("no base tasks given: bases must map at least one instruction to a goal")
    bases = {str(i): world.check_goal(g) for i, g in bases.items()}
    trial_seeds = [int(s) for s in trial_seeds]
    if not trial_seeds:
        raise ValueError("no trials: give at least one trial seed")
    init_seeds([0], 1, init_mode)  # validates init_mode
    cache_dir = Path(cache_dir) if cache_dir is not None else artifacts.artifacts_dir()
    goals, N = list(bases.values()), len(bases)
    names = {s: f"base-{world.slug}-s{s}-"
                + artifacts.cache_key(_trial_config(world, bases, s, cfg, init_mode),
                                      trainer_tag())
             for s in trial_seeds}

    loaded: dict[int, tuple[dict, dict]] = {}
    if use_cache:
        for s in trial_seeds:
            if artifacts.exists(cache_dir, names[s]):
                tensors, meta = artifacts.load(cache_dir, names[s])
                problem = _mismatch(tensors, meta, _trial_config(world, bases, s, cfg,
                                                                 init_mode), N, world.n_states)
                if problem:
                    warnings.warn(f"cached base policies {names[s]} in {cache_dir} do not fit "
                                  f"their config ({problem}); retraining them", stacklevel=2)
                    continue
                loaded[s] = (tensors, meta)
    todo = [s for s in trial_seeds if s not in loaded]
    if todo:
        seeds = [agent_seed(s, "base", i) for s in todo for i in range(N)]
        p0 = init_params(world, cfg.hidden, init_seeds(todo, N, init_mode))
        res = train_population(world, goals * len(todo), seeds, cfg, params=p0,
                               progress=f"base policies {world.label}" if progress else False)
        for t, s in enumerate(todo):
            sl = slice(t * N, (t + 1) * N)
            tensors = {k: v[sl] for k, v in res.params.items()}
            tensors["curve"] = torch.as_tensor(res.curve[:, sl], dtype=torch.float32)
            tensors["curve_steps"] = torch.as_tensor(res.curve_steps, dtype=torch.int64)
            meta = {"config": _trial_config(world, bases, s, cfg, init_mode),
                    "instructions": list(bases), "goals": [list(g) for g in goals],
                    "agent_seeds": seeds[sl],
                    "steps_to_converge": res.steps_to_converge[sl].tolist(),
                    "censored": res.censored[sl].tolist(),
                    "converge_wall_s": [None if np.isnan(w) else float(w)
                                        for w in res.converge_wall_s[sl]],
                    "population_wall_s": res.wall_s, "population_size": len(seeds)}
            artifacts.save(cache_dir, names[s], tensors, meta)
            loaded[s] = (tensors, meta)

    rows, curves = [], []
    K = max(len(loaded[s][0]["curve_steps"]) for s in trial_seeds)
    curve_steps = None
    for t, s in enumerate(trial_seeds):
        tensors, meta = loaded[s]
        cs = tensors["curve_steps"].numpy()
        if curve_steps is None or len(cs) > len(curve_steps):
            curve_steps = cs
        c = np.full((K, N), np.nan)
        c[:len(cs)] = tensors["curve"].numpy()
        curves.append(c)
        for i, instr in enumerate(meta["instructions"]):
            rows.append({"trial": t, "trial_seed": s, "instruction": instr,
                         "goal": tuple(meta["goals"][i]),
                         "steps_to_converge": meta["steps_to_converge"][i],
                         "censored": meta["censored"][i],
                         "wall_s": meta["converge_wall_s"][i],
                         "population_wall_s": meta["population_wall_s"]})
    params = {k: torch.stack([loaded[s][0][k] for s in trial_seeds]) for k in PARAM_NAMES}
    return BasePolicies(size=world if isinstance(size, World) else world.size,
                        instructions=list(bases), goals=goals,
                        trial_seeds=trial_seeds, init_mode=init_mode, config=cfg, params=params,
                        table=pd.DataFrame(rows), curve_steps=np.asarray(curve_steps),
                        curves=np.stack(curves),
                        from_cache=[s not in todo for s in trial_seeds])
