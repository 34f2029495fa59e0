"""Train each population once: content-keyed cache, and merging of independent populations.

An agent's numbers depend only on its own inputs (grid, goal, seed, initial weights,
hyperparameters), never on the population it trains in (:mod:`cliprl_helpers.core.dqn`,
"Determinism"). Two consequences used here:

* a population's result can be cached under a hash of exactly those inputs: the same inputs
  load instead of training, any change (even one bit of one initial weight) trains anew;
* populations that share a grid size and hyperparameters can be **merged** into one and
  split afterwards, giving each exactly what it would have got alone, for the price of one
  batched run. A batch of runs uses it to train everything a grid size needs (every reading,
  trial and method) in one go; a notebook that later asks for its own part finds it cached.

This is the package's one cache of trained populations: the base policies of every trial
(:mod:`cliprl_helpers.core.base_policies`) and every fine-tuning population
(:mod:`cliprl_helpers.core.experiment`) are jobs.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import artifacts
from .dqn import PARAM_NAMES, TRAINER_VERSION, DQNConfig, TrainResult, train_population
from .grid import N_ACTIONS
from .mdp import World, as_world
from .numerics import trainer_tag


@dataclass
class Job:
    """One population to train: ``P`` agents on one grid with one config.

    Attributes:
        world: the :class:`~cliprl_helpers.core.mdp.World` (a grid side ``n`` is taken as the
            ``n x n`` GoalGrid).
        goals: ``P`` goal cells.
        seeds: ``P`` random-stream seeds.
        params: ``P`` initial networks (``{"W1": (P, n*n, H), ...}``).
        config: hyperparameters.
        label: a short name for progress bars and the cache file (not part of the key).
    """

    world: World
    goals: list
    seeds: list
    params: dict[str, torch.Tensor]
    config: DQNConfig
    label: str = "population"

    def __post_init__(self):
        self.world = as_world(self.world)
        self.goals = [self.world.check_goal(g) for g in self.goals]
        self.seeds = [int(s) for s in self.seeds]
        if len(self.goals) != len(self.seeds) or not self.goals:
            raise ValueError(f"a job needs one seed per goal and at least one agent, got "
                             f"{len(self.goals)} goals and {len(self.seeds)} seeds")
        problem = shape_problem(self.params, len(self.goals), self.world, self.config.hidden)
        if problem:
            raise ValueError(f"initial {problem}")

    def key(self) -> str:
        """Hash of everything that determines the result."""
        h = hashlib.sha256()
        for k in PARAM_NAMES:
            h.update(self.params[k].detach().to(torch.float32).contiguous().numpy().tobytes())
        return artifacts.cache_key({"kind": "population", "trainer_version": TRAINER_VERSION,
                                    "curves": list(CURVES),
                                    "size": self.world.key(), "goals": self.goals,
                                    "seeds": self.seeds, "dqn": self.config.to_dict(),
                                    "init_sha256": h.hexdigest()}, trainer_tag())

    def name(self) -> str:
        return f"train-{self.label}-{self.world.slug}-{self.key()}"


#: What a cached population records per evaluation (part of its key: a cache made before a
#: curve was recorded is not found, rather than found without it).
CURVES = ("optimal_fraction", "greedy_return")


def param_shapes(P: int, world: World, hidden: int) -> dict[str, tuple[int, ...]]:
    """The shapes of ``P`` agents' Q-network weights on ``world``."""
    S, A = world.n_states, N_ACTIONS
    return {"W1": (P, S, hidden), "b1": (P, hidden), "W2": (P, hidden, A), "b2": (P, A)}


def shape_problem(params: dict, P: int, world: World, hidden: int) -> str:
    """Why ``params`` are not ``P`` agents' weights on ``world`` (``""`` if they are)."""
    for k, shape in param_shapes(P, world, hidden).items():
        got = tuple(params[k].shape) if k in params else None
        if got != shape:
            return (f"params[{k!r}] has shape {got}, expected {shape} ({P} agents, "
                    f"{world.label} grid, hidden {hidden})")
    return ""


def _agent_id(job: Job, a: int) -> bytes:
    """What determines agent ``a`` of ``job`` (with the job's grid and config)."""
    h = hashlib.sha256(repr((job.goals[a], job.seeds[a])).encode())
    for k in PARAM_NAMES:
        h.update(job.params[k][a].detach().to(torch.float32).contiguous().numpy().tobytes())
    return h.digest()


def split(result: TrainResult, agents) -> TrainResult:
    """What the ``agents`` (indices into ``result``) would have got trained on their own.

    A population stops at the evaluation where its last agent converged (or at the budget),
    so the curve is cut there; ``wall_s`` stays the merged run's.
    """
    agents = np.asarray(list(agents))
    steps = result.steps_to_converge[agents]
    cens = result.censored[agents]
    last = len(result.curve_steps) - 1 if cens.any() else \
        int(np.searchsorted(result.curve_steps, steps.max()))
    E = result.config.envs_per_agent
    n_iters = -(-result.config.budget_steps // E)
    env_steps = int(np.where(cens, n_iters * E, steps).sum())
    return TrainResult(
        params={k: v[torch.as_tensor(agents)].clone() for k, v in result.params.items()},
        steps_to_converge=steps.copy(), censored=cens.copy(),
        converge_wall_s=result.converge_wall_s[agents].copy(),
        curve_steps=result.curve_steps[:last + 1].copy(),
        curve=result.curve[:last + 1, agents].copy(),
        initial_fraction=result.initial_fraction[agents].copy(),
        return_curve=result.return_curve[:last + 1, agents].copy(),
        initial_return=result.initial_return[agents].copy(),
        wall_s=result.wall_s, env_steps=env_steps, config=result.config)


def _save(directory: Path, job: Job, res: TrainResult) -> None:
    tensors = {**res.params,
               "steps_to_converge": torch.as_tensor(res.steps_to_converge, dtype=torch.int64),
               "censored": torch.as_tensor(res.censored, dtype=torch.bool),
               "converge_wall_s": torch.as_tensor(res.converge_wall_s, dtype=torch.float64),
               "curve_steps": torch.as_tensor(res.curve_steps, dtype=torch.int64),
               "curve": torch.as_tensor(res.curve, dtype=torch.float64),
               "initial_fraction": torch.as_tensor(res.initial_fraction, dtype=torch.float64),
               "return_curve": torch.as_tensor(res.return_curve, dtype=torch.float64),
               "initial_return": torch.as_tensor(res.initial_return, dtype=torch.float64)}
    artifacts.save(directory, job.name(), tensors,
                   {"key": job.key(), "wall_s": res.wall_s, "env_steps": res.env_steps,
                    "agents": len(job.goals)})


def _load(directory: Path, job: Job) -> TrainResult | None:
    """The cached result of ``job``, or None when there is none or it cannot be trusted (a
    warning says why; the job is then trained again and the file replaced)."""
    if not artifacts.exists(directory, job.name()):
        return None
    try:
        t, meta = artifacts.load(directory, job.name())
    except ValueError as e:
        problem = str(e)
    else:
        P = len(job.goals)
        problem = shape_problem(t, P, job.world, job.config.hidden)
        for k in ("steps_to_converge", "censored", "initial_fraction", "initial_return",
                  "converge_wall_s"):
            if not problem and (k not in t or tuple(t[k].shape) != (P,)):
                problem = f"{k} is missing or not of shape ({P},)"
        if not problem and ("curve_steps" not in t or any(
                k not in t or tuple(t[k].shape) != (len(t["curve_steps"]), P)
                for k in ("curve", "return_curve"))):
            problem = "a learning curve is missing or has the wrong shape"
        if not problem and meta.get("key") != job.key():
            problem = "it was made from other inputs"
        if not problem and not all(bool(torch.isfinite(t[k]).all()) for k in PARAM_NAMES):
            problem = "the weights hold NaN or infinite values"
    if problem:
        warnings.warn(f"cached training result {job.name()} in {directory} is not usable "
                      f"({problem}); training it again", stacklevel=3)
        return None
    return TrainResult(
        params={k: t[k] for k in PARAM_NAMES},
        steps_to_converge=t["steps_to_converge"].numpy(), censored=t["censored"].numpy(),
        converge_wall_s=t["converge_wall_s"].numpy(), curve_steps=t["curve_steps"].numpy(),
        curve=t["curve"].numpy(), initial_fraction=t["initial_fraction"].numpy(),
        return_curve=t["return_curve"].numpy(), initial_return=t["initial_return"].numpy(),
        wall_s=float(meta["wall_s"]), env_steps=int(meta["env_steps"]), config=job.config)


def train_jobs(jobs: list[Job], cache_dir: str | Path | None = None, use_cache: bool = True,
               progress: bool = True, report_cached: bool = False):
    """Results of ``jobs``, in order: cached ones are loaded, the others are trained
    together, one merged population per (grid size, config), then cached.

    Args:
        jobs: the populations.
        cache_dir: default :func:`artifacts.artifacts_dir`.
        use_cache: False trains everything (and overwrites the cache).
        progress: progress bars.
        report_cached: also return which jobs were loaded: ``(results, [bool, ...])``.
    """
    directory = Path(cache_dir) if cache_dir is not None else artifacts.artifacts_dir()
    out: list[TrainResult | None] = [(_load(directory, j) if use_cache else None)
                                     for j in jobs]
    cached = [r is not None for r in out]
    groups: dict[tuple, list[int]] = {}
    for i, j in enumerate(jobs):
        if out[i] is None:
            groups.setdefault((j.world, artifacts.cache_key(j.config.to_dict())), []).append(i)
    for (world, _), idx in groups.items():
        members = [jobs[i] for i in idx]
        # identical agents (same goal, seed and initial weights) train once: e.g. the scratch
        # and oracle runs of a trial, which do not depend on how the target is worded
        first: dict[bytes, int] = {}
        unique: list[tuple[int, int]] = []  # (member, agent) of each distinct agent
        where: list[list[int]] = []  # per member: its agents' rows in the merged population
        for mi, m in enumerate(members):
            where.append([])
            for a in range(len(m.goals)):
                key = _agent_id(m, a)
                if key not in first:
                    first[key] = len(unique)
                    unique.append((mi, a))
                where[-1].append(first[key])
        params = {k: torch.stack([members[mi].params[k][a] for mi, a in unique])
                  for k in PARAM_NAMES}
        merged = train_population(
            world, [members[mi].goals[a] for mi, a in unique],
            [members[mi].seeds[a] for mi, a in unique], members[0].config, params=params,
            progress=f"{'+'.join(dict.fromkeys(m.label for m in members))} {world.label}"
            if progress else False)
        for i, m, w in zip(idx, members, where):
            res = split(merged, w)
            _save(directory, m, res)
            out[i] = res
    return (out, cached) if report_cached else out  # type: ignore[return-value]
