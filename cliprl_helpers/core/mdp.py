"""A task as a finite deterministic MDP given by its tables: what the trainer steps and scores.

The population trainer (:mod:`cliprl_helpers.core.dqn`) never sees a grid. Per task it sees a
:class:`TaskTable` over ``S`` states and 4 actions:

* ``next_state[s, a]``, ``reward[s, a]``, ``terminal[s, a]``: one step of the environment;
* ``success[s, a]``: the step completes the task (a terminal step may also be a failure, as
  Minigrid's ``done`` pressed away from the named object);
* ``starts[s]``: the states an episode starts in, uniformly (also the states the convergence
  metric scores).

From the table alone come the exact convergence metric's optimal actions
(:meth:`TaskTable.optimal`, shortest paths to a successful step) and the batched twin the
trainer drives (:class:`BatchedTables`).

A *world* says how goals become tables: :class:`GridWorld` is the paper's goal grid (a goal
is a cell), :class:`cliprl_helpers.core.minigrid_world.Room` is a Minigrid room (a goal
is the cell of the object to go to). Everywhere the package takes a grid size it also takes
a world (:func:`as_world`); an integer ``n`` means ``GridWorld(n)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from .grid import N_ACTIONS, check_cell, check_size, transition_table

#: GoalGrid's reward for every step, including the one that reaches the goal.
STEP_REWARD = -1.0


@dataclass(frozen=True, eq=False)
class TaskTable:
    """One task of a world as tables (``S`` states, 4 actions).

    Attributes:
        next_state: ``(S, 4)`` int64 state after each action.
        reward: ``(S, 4)`` float32 reward of each step.
        terminal: ``(S, 4)`` bool: the step ends the episode.
        success: ``(S, 4)`` bool: the step completes the task (implies terminal).
        starts: ``(S,)`` bool: states an episode starts in (uniformly) and that the
            convergence metric scores.
    """

    next_state: np.ndarray
    reward: np.ndarray
    terminal: np.ndarray
    success: np.ndarray
    starts: np.ndarray

    def __post_init__(self):
        S = self.starts.shape[0]
        for name in ("next_state", "reward", "terminal", "success"):
            if getattr(self, name).shape != (S, N_ACTIONS):
                raise ValueError(f"{name} must have shape ({S}, {N_ACTIONS}), got "
                                 f"{getattr(self, name).shape}")
        if (self.next_state.min() < 0) or (self.next_state.max() >= S):
            raise ValueError(f"next_state must hold state indices in 0..{S - 1}")
        if (self.success & ~self.terminal).any():
            raise ValueError("a successful step must end the episode (success implies terminal)")
        if not self.starts.any():
            raise ValueError("a task needs at least one start state")

    @property
    def n_states(self) -> int:
        return int(self.starts.shape[0])

    def steps_to_success(self) -> np.ndarray:
        """Fewest steps from each state to a successful step: ``(S,)`` float (inf: never)."""
        d = np.full(self.n_states, np.inf)
        while True:
            new = self._action_costs(d).min(1)
            if np.array_equal(new, d):
                return d
            d = new

    def _action_costs(self, d: np.ndarray) -> np.ndarray:
        """``(S, 4)``: steps to success taking action ``a`` first, then acting optimally."""
        return np.where(self.success, 1.0,
                        np.where(self.terminal, np.inf, 1.0 + d[self.next_state]))

    def optimal(self) -> np.ndarray:
        """``(S, 4)`` bool: actions on a shortest path to success, at the start states only
        (other rows are all False: the metric does not score them)."""
        d = self.steps_to_success()
        if np.isinf(d[self.starts]).any():
            raise ValueError("some start states cannot reach success: the task is unsolvable "
                             "from there")
        cost = self._action_costs(d)
        return (cost == d[:, None]) & self.starts[:, None]


class World:
    """How goals become :class:`TaskTable` s (subclasses: :class:`GridWorld`, ``Room``).

    Attributes a subclass provides: ``n_states``, ``max_steps`` (the episode cap),
    :meth:`check_goal`, :meth:`table`, :meth:`key` (JSON-able identity for cache keys),
    ``label`` (for progress bars) and ``slug`` (for file names).
    """

    n_states: int
    max_steps: int
    label: str
    slug: str

    def check_goal(self, goal) -> tuple[int, int]:  # pragma: no cover - interface
        raise NotImplementedError

    def table(self, goal) -> TaskTable:  # pragma: no cover - interface
        raise NotImplementedError

    def key(self):  # pragma: no cover - interface
        raise NotImplementedError


@dataclass(frozen=True)
class GridWorld(World):
    """The paper's goal grid as a world: a goal is a cell, reaching it ends the episode with
    the same -1 per step as every other step; moves into a wall leave the agent in place."""

    size: int

    def __post_init__(self):
        object.__setattr__(self, "size", check_size(self.size))

    @property
    def n_states(self) -> int:
        return self.size * self.size

    @property
    def max_steps(self) -> int:
        return 4 * self.size

    @property
    def label(self) -> str:
        return f"{self.size}x{self.size}"

    @property
    def slug(self) -> str:
        return f"n{self.size}"

    def check_goal(self, goal) -> tuple[int, int]:
        return check_cell(goal, self.size)

    def table(self, goal) -> TaskTable:
        return _grid_table(self.size, self.check_goal(goal))

    def key(self):
        return self.size  # the cache keys of grid worlds, unchanged


@lru_cache(maxsize=256)
def _grid_table(size: int, goal: tuple[int, int]) -> TaskTable:
    nxt = transition_table(size)
    g = goal[0] * size + goal[1]
    reach = nxt == g
    starts = np.ones(size * size, dtype=bool)
    starts[g] = False
    return TaskTable(next_state=nxt, reward=np.full(nxt.shape, STEP_REWARD, dtype=np.float32),
                     terminal=reach, success=reach, starts=starts)


def as_world(world) -> World:
    """``world`` itself, or ``GridWorld(world)`` for a grid size (``ValueError`` otherwise)."""
    if isinstance(world, World):
        return world
    return GridWorld(check_size(world))


def grid_side(world) -> int:
    """The side of the square grid a world lives on (what tables call ``grid_size``)."""
    w = as_world(world)
    return int(w.size)  # type: ignore[attr-defined]


class BatchedTables:
    """Many episodes of table-given tasks stepped at once, in torch (the trainer's engine).

    Every env has its own task (a row of the stacked tables) and step counter. Randomness
    is passed in (uniforms in ``[0, 1)``): the caller owns the random streams.

    Args:
        tables: ``K`` task tables of one world (same ``S``).
        task_of_env: ``(N,)`` which table each env follows.
        max_steps: step cap per episode.
    """

    def __init__(self, tables: list[TaskTable], task_of_env, max_steps: int):
        S = tables[0].n_states
        self.n_states, self.max_steps = S, int(max_steps)
        self.task = torch.as_tensor(np.asarray(task_of_env, dtype=np.int64))
        self.next = torch.as_tensor(np.stack([t.next_state for t in tables]).reshape(-1))
        self.terminal = torch.as_tensor(np.stack([t.terminal for t in tables]).reshape(-1))
        starts = [np.flatnonzero(t.starts) for t in tables]
        width = max(len(s) for s in starts)
        self.start_states = torch.as_tensor(np.stack(
            [np.pad(s, (0, width - len(s)), mode="edge") for s in starts]))  # (K, width)
        self.n_starts = torch.as_tensor(np.array([len(s) for s in starts], dtype=np.int64))
        # what the greedy return reads: rewards (float64: sums of integers stay exact) and
        # which states an episode starts in, per task
        self.reward = torch.as_tensor(np.stack([t.reward for t in tables]).reshape(-1),
                                      dtype=torch.float64)
        self.is_start = torch.as_tensor(np.stack([t.starts for t in tables]))  # (K, S)
        self._bind()
        self.cells = torch.zeros(self.num_envs, dtype=torch.int64)
        self.t = torch.zeros(self.num_envs, dtype=torch.int64)

    def _bind(self) -> None:
        self.num_envs = int(self.task.shape[0])
        self._offset = self.task * (self.n_states * N_ACTIONS)
        self._n_starts = self.n_starts[self.task]
        self._zeros = torch.zeros(self.num_envs, dtype=torch.int64)

    def _starts(self, u: torch.Tensor) -> torch.Tensor:
        """Start states from uniforms ``u`` ``(N,)``: ``floor(u * n_starts)``-th start state
        of each env's task, in index order."""
        i = torch.minimum((u * self._n_starts).long(), self._n_starts - 1)
        return self.start_states[self.task, i]

    def greedy_return(self, greedy: torch.Tensor, task: torch.Tensor) -> torch.Tensor:
        """Mean return of a greedy policy over the start states of its task: ``(P,)`` float64.

        Args:
            greedy: ``(P, S)`` the action of each of ``P`` policies in every state.
            task: ``(P,)`` which table each policy acts in.

        An episode from each start state follows the policy until a terminal step or the
        episode cap, as in training (on a goal grid: minus the steps taken, ``-max_steps``
        for a start state the policy never leads to the goal). Computed exactly, without
        stepping ``max_steps`` times: the policy's successor map and the return of ``2^k``
        steps are doubled (binary lifting), ``log2(max_steps)`` gathers; a terminal step
        leads to an absorbing state with reward 0. Rewards add elementwise in a fixed order
        (on a goal grid they are integers), so every CPU gets the same bits.
        """
        P, S = greedy.shape
        flat = (task.unsqueeze(1) * S + torch.arange(S)) * N_ACTIONS + greedy  # (P, S)
        sink = torch.full((P, 1), S, dtype=torch.int64)
        succ = torch.cat((torch.where(self.terminal[flat], S, self.next[flat]), sink), 1)
        gain = torch.cat((self.reward[flat], torch.zeros(P, 1, dtype=torch.float64)), 1)
        at = torch.arange(S + 1).expand(P, S + 1)
        total = torch.zeros(P, S + 1, dtype=torch.float64)
        steps = self.max_steps
        while steps:  # succ, gain: 2^k steps; ``at`` has walked the low bits of max_steps
            if steps & 1:
                total = total + gain.gather(1, at)
                at = succ.gather(1, at)
            steps >>= 1
            if steps:
                gain = gain + gain.gather(1, succ)
                succ = succ.gather(1, succ)
        starts = self.is_start[task]
        return (total[:, :S] * starts).sum(1) / starts.sum(1)

    def reset(self, u: torch.Tensor) -> torch.Tensor:
        """Reset every env from uniforms ``u`` ``(N,)``; returns the states ``(N,)``."""
        self.cells, self.t = self._starts(u), self._zeros
        return self.cells

    def step_unchecked(self, actions: torch.Tensor):
        """One step of every env: ``(next_states, terminated, truncated)``, each ``(N,)``."""
        flat = self._offset + self.cells * N_ACTIONS + actions
        self.cells = self.next[flat]
        self.t = self.t + 1
        terminated = self.terminal[flat]
        truncated = (self.t >= self.max_steps) & ~terminated
        return self.cells, terminated, truncated

    def select(self, keep: torch.Tensor) -> None:
        """Keep only the envs where ``keep`` ``(N,)`` is True."""
        self.task, self.cells, self.t = self.task[keep], self.cells[keep], self.t[keep]
        self._bind()

    def reset_done(self, done: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Restart the envs where ``done`` ``(N,)`` is True, from uniforms ``u`` ``(N,)``."""
        self.cells = torch.where(done, self._starts(u), self.cells)
        self.t = torch.where(done, self._zeros, self.t)
        return self.cells
