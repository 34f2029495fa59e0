"""DQN for a whole population of independent agents in one set of batched tensors.

Every agent has its own goal, seed, initial weights, environments, replay buffer, target
network and random streams; what they share is only the *shape* of the computation. All
agents' weights sit in one flat ``(P, width)`` buffer (:class:`cliprl_helpers.core.qnet.Nets`);
one forward/backward pass and one Adam step update every agent at once. The loss is the *sum*
over agents of each agent's own mean TD loss, so each agent's gradient is exactly the gradient
it would get alone, and Adam is elementwise. Random numbers come from per-agent counter-based
streams (:mod:`cliprl_helpers.core.rng`), so an agent draws the same numbers alone or in a
population.

**Determinism.** For a given seed the numbers do not depend on anything else: an agent trained
alone, in a population of 2 or 40, or inside everything a grid size needs, converges at the
same step with bit-identical weights, in any process, on any Dask worker and on any x86-64 CPU,
in reference and in native numerics (``tests/test_determinism.py`` runs these to convergence
on 15x15; ``tests/test_numerics.py`` under emulated kernel paths). What makes that true:
per-agent random streams, kernels that compute every agent's numbers on the same code path
(the row padding explained in :mod:`cliprl_helpers.core.qnet`), no CPU-dependent kernel (the
output layer and Adam are exact compiled loops: :mod:`cliprl_helpers.core.qnet`,
:mod:`cliprl_helpers.core.adam`) and torch pinned to one thread
(:mod:`cliprl_helpers.repro.threads`).

The target network enters the TD target only through ``max_a q_target(s', a)``, so the trainer
keeps that value for every cell, a ``(P, n*n)`` table recomputed at each target copy.

Convergence is measured exactly: the fraction of non-goal cells where the greedy action is
one of the optimal actions (:meth:`cliprl_helpers.core.mdp.TaskTable.optimal`). An agent has
converged at the first evaluation where that fraction reaches ``threshold``; it is then
frozen (its weights stop changing), which is what training it alone "until convergence"
means. An agent that never gets there is *censored* at the budget.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from . import checks
from .adam import FlatAdam  # noqa: F401  (re-exported: tests and the bench use dqn.FlatAdam)
from .grid import N_ACTIONS
from .mdp import BatchedTables, World, as_world
from .qnet import (  # noqa: F401  (re-exported: dqn.init_params, ...)
    PARAM_NAMES,
    Nets,
    greedy_actions,
    init_params,
    q_table,
    q_table_unchecked,
    q_values,
    td_gradients,
)
from .rng import StreamBlock, Streams

#: Part of every cache key of trained results; bump it when a change to the trainer can
#: change its numbers (even by rounding), so cached policies and tables are not reused.
#: 4: the trainer's Adam and output layer as exact compiled loops (no CPU-dependent kernel).
TRAINER_VERSION = 4
INIT_MODES = ("shared", "independent")
# stream ids of the per-agent random streams
_S_START, _S_EXPLORE, _S_ACTION, _S_SAMPLE = 1, 2, 3, 4
#: One replay record: the transition's fields, stored as one int64 row per buffer slot.
REPLAY_FIELDS = ("cell", "action", "next_cell", "terminated")
RECORD_WIDTH = len(REPLAY_FIELDS)


@dataclass(frozen=True)
class DQNConfig:
    """Hyperparameters of the population DQN (CleanRL style: one place, one line each)."""

    hidden: int = 32
    """Width of the hidden layer of the Q-network."""
    gamma: float = 0.95
    """Discount factor."""
    learning_rate: float = 1e-2
    """Adam learning rate."""
    envs_per_agent: int = 16
    """Environments each agent steps in parallel; env steps are counted over all of them."""
    buffer_size: int = 8192
    """Replay buffer capacity per agent, in transitions."""
    batch_size: int = 64
    """Transitions per agent in every gradient step."""
    learning_starts: int = 512
    """Env steps per agent collected before the first gradient step."""
    target_update_every: int = 25
    """Gradient steps between hard copies of the online network into the target network."""
    eps_start: float = 1.0
    """Initial exploration rate of the epsilon-greedy policy."""
    eps_end: float = 0.3
    """Final exploration rate."""
    eps_decay_steps: int = 20_000
    """Env steps per agent over which epsilon decays linearly from start to end."""
    budget_steps: int = 400_000
    """Env steps per agent after which a run that has not converged is censored."""
    eval_every: int = 8
    """Iterations (each one env step in every env of every agent) between evaluations."""
    threshold: float = 1.0
    """Fraction of non-goal cells with an optimal greedy action that counts as converged."""
    max_episode_steps: int | None = None
    """Episode step cap (None: the world's default; 4 * grid size on a goal grid)."""

    def __post_init__(self):
        # every value checked (numpy integers accepted and stored as int; bools refused)
        ints = {"hidden": 1, "envs_per_agent": 1, "buffer_size": 1, "batch_size": 1,
                "target_update_every": 1, "eval_every": 1, "budget_steps": 1,
                "learning_starts": 0, "eps_decay_steps": 0}
        for name, low in ints.items():
            object.__setattr__(self, name, checks.integer(name, getattr(self, name), low=low))
        reals = {"learning_rate": dict(low=0, low_open=True),
                 "gamma": dict(low=0, high=1, low_open=True),
                 "eps_start": dict(low=0, high=1), "eps_end": dict(low=0, high=1),
                 "threshold": dict(low=0, high=1, low_open=True)}
        for name, bounds in reals.items():
            object.__setattr__(self, name, checks.real(name, getattr(self, name), **bounds))
        if self.max_episode_steps is not None:
            object.__setattr__(self, "max_episode_steps", checks.positive_int(
                "max_episode_steps (or None for the env default)", self.max_episode_steps))
        if self.buffer_size < self.batch_size:
            raise ValueError(f"buffer_size ({self.buffer_size}) must be >= batch_size "
                             f"({self.batch_size})")

    def to_dict(self) -> dict:
        return asdict(self)


def init_seeds(trial_seeds, n_tasks: int, mode: str = "shared") -> list[int]:
    """Initial-weight seeds for ``n_tasks`` tasks of each trial, agents ordered trial-major.

    ``"shared"``: every task of a trial starts from the same network (seeded by the trial
    seed), which weight averaging needs. ``"independent"``: each (trial, task) gets its own.
    """
    if mode not in INIT_MODES:
        raise ValueError(f"unknown init mode {mode!r}: allowed are {', '.join(INIT_MODES)}")
    seeds = []
    for s in trial_seeds:
        for t in range(n_tasks):
            seeds.append(int(s) if mode == "shared" else int(s) * 1000 + 7919 * (t + 1))
    return seeds


def optimal_masks(world: World | int, goals) -> tuple[torch.Tensor, torch.Tensor]:
    """Optimal-action masks ``(P, S, 4)`` and scored-state masks ``(P, S)`` (the start
    states: on a goal grid, every cell but the goal) of a world (or grid size)."""
    tables = [as_world(world).table(g) for g in goals]
    return (torch.as_tensor(np.stack([t.optimal() for t in tables])),
            torch.as_tensor(np.stack([t.starts for t in tables])))


def optimal_fraction(params: dict[str, torch.Tensor], masks: torch.Tensor,
                     non_goal: torch.Tensor) -> torch.Tensor:
    """Fraction of non-goal cells whose greedy action is optimal, per agent: ``(P,)``.

    The trainer keeps one :class:`_Evaluator` (same computation, buffers reused).
    """
    return _Evaluator(params, masks, non_goal)()


class _Evaluator:
    """The exact convergence metric with reused work buffers (the Q table of every agent):
    greedy action per cell, checked against the optimal-action masks; with the agents'
    tables (``env``, ``task``) also the greedy return
    (:meth:`~cliprl_helpers.core.mdp.BatchedTables.greedy_return`)."""

    def __init__(self, params, masks, non_goal, env: BatchedTables | None = None,
                 task: torch.Tensor | None = None):
        P, n2, _ = params["W1"].shape
        self.params, self.masks, self.non_goal = params, masks, non_goal
        self.env, self.task = env, task
        self.n_non_goal = non_goal.sum(-1).to(torch.float64)
        self.q = torch.empty(P, n2, N_ACTIONS)

    def table(self) -> torch.Tensor:
        """Q-values of every cell ``(P, n*n, 4)``, in a reused buffer."""
        return q_table_unchecked(self.params, out=self.q)

    def __call__(self) -> torch.Tensor:
        return self._fraction(self.table().argmax(-1))

    def _fraction(self, greedy: torch.Tensor) -> torch.Tensor:
        ok = torch.gather(self.masks, 2, greedy.unsqueeze(-1)).squeeze(-1) & self.non_goal
        return ok.sum(-1).to(torch.float64) / self.n_non_goal

    def with_return(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(fraction, greedy return)`` of every agent, each ``(P,)`` float64."""
        greedy = self.table().argmax(-1)
        return self._fraction(greedy), self.env.greedy_return(greedy, self.task)


class _Population:
    """The training state of the agents still training, as batched tensors.

    Row ``i`` of every tensor belongs to agent ``ids[i]``. :meth:`compact` drops rows of
    converged agents so that their cost stops; each agent's own numbers are untouched, so
    the result is the same as without compaction (the determinism tests cover it).
    """

    def __init__(self, world: World, goals, seeds, params, cfg: DQNConfig):
        P, E, C = len(goals), cfg.envs_per_agent, cfg.buffer_size
        self.cfg, self.n2 = cfg, world.n_states
        self.ids = torch.arange(P)
        self.active = torch.ones(P, dtype=torch.bool)
        self.nets = Nets.pack({k: params[k].to(torch.float32) for k in PARAM_NAMES})
        # the target network, kept as its (P, n*n) table of max_a Q_target (module docstring)
        self.target_max = q_table_unchecked(self.nets.params).max(-1).values
        self.opt: FlatAdam | None = None
        self.n_updates = 0
        self.masks, self.non_goal = optimal_masks(world, goals)
        distinct = list(dict.fromkeys(goals))
        tables = [world.table(g) for g in distinct]
        self.task = torch.tensor([distinct.index(g) for g in goals], dtype=torch.int64)
        self.env = BatchedTables(tables, self.task.repeat_interleave(E),
                                 cfg.max_episode_steps or world.max_steps)
        # GoalGrid's reward is one constant (kept as a scalar: the reference numbers to the
        # bit); other worlds look theirs up per sampled transition
        rewards = np.stack([t.reward for t in tables])
        self.step_reward = float(rewards.flat[0]) if (rewards == rewards.flat[0]).all() else None
        self.reward = torch.as_tensor(rewards.reshape(-1))
        self.streams = Streams(seeds)
        self.draw = {name: StreamBlock(self.streams, sid, n) for name, sid, n in (
            ("start", _S_START, E), ("explore", _S_EXPLORE, E), ("action", _S_ACTION, E),
            ("sample", _S_SAMPLE, cfg.batch_size))}
        # replay buffers, one row per agent: one REPLAY_FIELDS record per slot
        self.buf = torch.zeros(P, C, RECORD_WIDTH, dtype=torch.int64)
        self.fill, self.ptr = 0, 0
        self.arange_e = torch.arange(E)
        self.cells = self.env.reset(u=self.draw["start"](0).reshape(-1)).view(P, E)
        self._build()

    @property
    def n_agents(self) -> int:
        return int(self.ids.numel())

    @property
    def online(self) -> dict[str, torch.Tensor]:
        return self.nets.params

    def _build(self) -> None:
        """(Re)create the optimizer, gradient buffer and evaluator for the current rows.

        One Adam over the one flat buffer (:class:`FlatAdam`): one call updates every weight
        of every agent.
        """
        flat = self.nets.flat
        self.grads = Nets(torch.zeros_like(flat), self.nets.n_cells, self.nets.hidden)
        if self.opt is None:
            self.opt = FlatAdam(flat, self.cfg.learning_rate)
        self.evaluate = _Evaluator(self.nets.params, self.masks, self.non_goal, self.env,
                                   self.task)
        self.buf_offsets = torch.arange(self.n_agents).unsqueeze(1) * self.cfg.buffer_size

    def act_and_store(self, it: int, eps: float) -> None:
        P, E, C = self.n_agents, self.cfg.envs_per_agent, self.cfg.buffer_size
        greedy = self.nets.q(self.cells).argmax(-1)  # (P, E)
        explore = self.draw["explore"](it) < eps
        rand_a = (self.draw["action"](it) * N_ACTIONS).long().clamp_(max=N_ACTIONS - 1)
        actions = torch.where(explore, rand_a, greedy)
        nxt, term, trunc = self.env.step_unchecked(actions.reshape(-1))
        nxt, term = nxt.view(P, E), term.view(P, E)
        # slot index shared: every agent writes E transitions per iteration
        slots = (self.ptr + self.arange_e) % C
        self.buf[:, slots] = torch.stack((self.cells, actions, nxt, term.long()), -1)
        self.ptr, self.fill = (self.ptr + E) % C, min(self.fill + E, C)
        done = (term | trunc.view(P, E)).reshape(-1)
        self.cells = self.env.reset_done(done, self.draw["start"](it + 1).reshape(-1)).view(P, E)

    def learn(self, it: int) -> None:
        cfg = self.cfg
        idx = (self.draw["sample"](it) * self.fill).long().clamp_(max=self.fill - 1)  # (P, B)
        rows = (idx + self.buf_offsets).view(-1)  # into the (P * C, RECORD_WIDTH) view
        s, a, s2, term = (self.buf.view(-1, RECORD_WIDTH).index_select(0, rows)
                          .view(*idx.shape, RECORD_WIDTH).unbind(-1))
        q_next = self.target_max.gather(1, s2).masked_fill_(term.bool(), 0.0)
        if self.step_reward is not None:
            y = self.step_reward + cfg.gamma * q_next
        else:
            r = self.reward[(self.task.unsqueeze(1) * self.n2 + s) * N_ACTIONS + a]  # (P, B)
            y = r + cfg.gamma * q_next
        td_gradients(self.nets, s, a, y, self.active.to(torch.float32), self.grads)
        self.opt.step(self.nets.flat, self.grads.flat)
        self.n_updates += 1
        if self.n_updates % cfg.target_update_every == 0:
            self.target_max = self.evaluate.table().amax(-1)

    def freeze(self, rows: torch.Tensor) -> None:
        """Stop training ``rows`` ``(P,)`` bool: loss weight 0 and Adam's momentum zeroed."""
        self.opt.freeze(rows)
        self.active = self.active & ~rows

    def compact(self, keep: torch.Tensor) -> None:
        """Keep only rows where ``keep`` ``(P,)`` is True."""
        if bool(keep.all()):
            return
        E = self.cfg.envs_per_agent
        self.ids, self.active, self.task = self.ids[keep], self.active[keep], self.task[keep]
        if self.opt is not None:
            self.opt.select(keep)
        self.nets = Nets(self.nets.flat.detach()[keep].clone(), self.nets.n_cells,
                         self.nets.hidden)
        self.target_max = self.target_max[keep].clone()
        self.masks, self.non_goal = self.masks[keep], self.non_goal[keep]
        self.buf = self.buf[keep].clone()
        self.cells = self.cells[keep]
        self.env.select(keep.repeat_interleave(E))
        self.streams.select(keep)
        for block in self.draw.values():
            block.select(keep)
        self._build()


@dataclass
class TrainResult:
    """What :func:`train_population` returns, for ``P`` agents.

    Attributes:
        params: final weights (for a converged agent, its weights at convergence).
        steps_to_converge: ``(P,)`` env steps per agent until convergence, or the budget if
            censored.
        censored: ``(P,)`` True where the agent did not converge within the budget.
        converge_wall_s: ``(P,)`` wall-clock seconds from the start of the population run to
            the agent's convergence (NaN if censored).
        curve_steps: ``(T,)`` env steps per agent at each evaluation.
        curve: ``(T, P)`` optimal-cell fraction at each evaluation.
        initial_fraction: ``(P,)`` optimal-cell fraction before any training.
        return_curve: ``(T, P)`` greedy return at each evaluation: the mean return of the
            greedy policy over the start states, episodes capped as in training
            (:meth:`~cliprl_helpers.core.mdp.BatchedTables.greedy_return`).
        initial_return: ``(P,)`` greedy return before any training.
        wall_s: wall-clock seconds of the whole population run.
        env_steps: env steps taken by the population (agents x envs x iterations, counting
            only agents still training).
    """

    params: dict[str, torch.Tensor]
    steps_to_converge: np.ndarray
    censored: np.ndarray
    converge_wall_s: np.ndarray
    curve_steps: np.ndarray
    curve: np.ndarray
    initial_fraction: np.ndarray
    return_curve: np.ndarray
    initial_return: np.ndarray
    wall_s: float
    env_steps: int
    config: DQNConfig = field(default_factory=DQNConfig)


def _check_population(world, goals, seeds, params):
    world = as_world(world)
    goals = [world.check_goal(g) for g in goals]
    seeds = [int(s) for s in seeds]
    if not goals:
        raise ValueError("the population is empty: give at least one goal")
    if len(seeds) != len(goals):
        raise ValueError(f"got {len(goals)} goals but {len(seeds)} seeds: give one seed per agent")
    if params is not None:
        P, n2 = len(goals), world.n_states
        want = {"W1": (P, n2), "b1": (P,), "W2": (P,), "b2": (P, N_ACTIONS)}
        for k, shape in want.items():
            if k not in params or tuple(params[k].shape[:len(shape)]) != shape:
                got = None if k not in params else tuple(params[k].shape)
                raise ValueError(f"initial params[{k!r}] must start with shape {shape} for "
                                 f"{P} agents on {world.label}, got {got}")
    return world, goals, seeds


def train_population(world: World | int, goals, seeds, config: DQNConfig | None = None,
                     params: dict[str, torch.Tensor] | None = None,
                     progress: bool | str = True) -> TrainResult:
    """Train ``P`` independent DQN agents together until each converges or hits the budget.

    Args:
        world: the :class:`~cliprl_helpers.core.mdp.World` (e.g. a Minigrid room), or a grid
            side ``n`` for the ``n x n`` GoalGrid.
        goals: ``P`` goal cells ``(row, col)`` (in a room: the cells of the objects).
        seeds: ``P`` integer seeds for the agents' random streams (starts, exploration,
            replay sampling).
        config: hyperparameters (default :class:`DQNConfig`).
        params: ``P`` agents' initial weights (see :func:`init_params`); default: fresh
            ones seeded by ``seeds``.
        progress: show a tqdm bar (a string sets its description).

    Returns:
        A :class:`TrainResult`.
    """
    cfg = config or DQNConfig()
    world, goals, seeds = _check_population(world, goals, seeds, params)
    P_all, E, B = len(goals), cfg.envs_per_agent, cfg.batch_size
    t0 = time.perf_counter()
    if params is None:
        params = init_params(world, cfg.hidden, seeds)
    pop = _Population(world, goals, seeds, params, cfg)

    frac0, ret0 = pop.evaluate.with_return()
    last_frac = frac0.numpy().copy()  # (P_all,) latest fraction of every agent
    last_ret = ret0.numpy().copy()  # (P_all,) and its latest greedy return
    steps_to = np.full(P_all, cfg.budget_steps, dtype=np.int64)
    conv_wall = np.full(P_all, np.nan)
    done0 = (frac0 >= cfg.threshold).numpy()
    steps_to[done0], conv_wall[done0] = 0, 0.0
    final = {k: v.clone() for k, v in pop.online.items()}  # converged agents land here
    pop.compact(torch.as_tensor(~done0))
    curve_steps, curve, return_curve = [0], [last_frac.copy()], [last_ret.copy()]

    n_iters = math.ceil(cfg.budget_steps / E)
    env_steps = 0
    bar = tqdm(total=n_iters * E, unit="step", disable=not progress, leave=False,
               desc=progress if isinstance(progress, str) else f"DQN x{P_all} on {world.label}")
    for it in range(n_iters):
        if pop.n_agents == 0:
            break
        # --- act: epsilon-greedy in every env of every agent, store, restart ended envs --
        eps = cfg.eps_end
        if cfg.eps_decay_steps:
            eps += (cfg.eps_start - cfg.eps_end) * max(0.0, 1.0 - it * E / cfg.eps_decay_steps)
        pop.act_and_store(it, eps)
        env_steps += int(pop.active.sum()) * E
        # --- learn: one gradient step per iteration ------------------------------------
        if (it + 1) * E >= cfg.learning_starts and pop.fill >= B:
            pop.learn(it)
        # --- evaluate the greedy policy exactly; freeze and drop converged agents ------
        if (it + 1) % cfg.eval_every == 0:
            frac, ret = pop.evaluate.with_return()
            last_frac[pop.ids.numpy()] = frac.numpy()
            last_ret[pop.ids.numpy()] = ret.numpy()
            newly = pop.active & (frac >= cfg.threshold)
            if bool(newly.any()):
                ids = pop.ids[newly]
                steps_to[ids.numpy()] = (it + 1) * E
                conv_wall[ids.numpy()] = time.perf_counter() - t0
                for k in PARAM_NAMES:
                    final[k][ids] = pop.online[k][newly]
                pop.freeze(newly)
                if pop.active.sum() <= 0.75 * pop.n_agents:
                    pop.compact(pop.active)
            curve_steps.append((it + 1) * E)
            curve.append(last_frac.copy())
            return_curve.append(last_ret.copy())
            bar.set_postfix(converged=f"{int(np.sum(steps_to < cfg.budget_steps))}/{P_all}",
                            refresh=False)
        bar.update(E)
    bar.close()
    censored = np.isnan(conv_wall)
    if pop.n_agents:  # agents still training at the budget: censored, keep their last weights
        alive = pop.active
        for k in PARAM_NAMES:
            final[k][pop.ids[alive]] = pop.online[k][alive]
    return TrainResult(
        params=final, steps_to_converge=steps_to, censored=censored,
        converge_wall_s=conv_wall, curve_steps=np.asarray(curve_steps),
        curve=np.stack(curve), initial_fraction=frac0.numpy().copy(),
        return_curve=np.stack(return_curve), initial_return=ret0.numpy().copy(),
        wall_s=time.perf_counter() - t0, env_steps=env_steps, config=cfg)
