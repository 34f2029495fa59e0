"""The goal grid world of the paper: one gymnasium env and its batched twin.

* :class:`GoalGridEnv` is a plain :class:`gymnasium.Env`, registered as ``cliprl/GoalGrid-v0``.
* :class:`BatchedGoalGrid` steps many copies at once in torch or NumPy (the population
  population trainer drives the same transition table through
  :class:`cliprl_helpers.core.mdp.BatchedTables`, identical step for step: ``tests/test_mdp.py``).
* :class:`GoalGridVectorEnv` puts :class:`BatchedGoalGrid` behind gymnasium's vector API.

All three share one transition table, so they agree step for step (a test checks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from . import checks
from .grid import (  # noqa: F401  (transition_table re-exported)
    ACTION_NAMES,
    N_ACTIONS,
    cell_index,
    cell_indices,
    cell_of,
    check_cell,
    check_size,
    transition_table,
)

ENV_ID = "cliprl/GoalGrid-v0"
RENDER_MODES = ("ansi", "rgb_array")
#: Reward for every step, including the one that reaches the goal.
STEP_REWARD = -1.0


def default_max_steps(size: int) -> int:
    """The default step cap of an episode: ``4 * size``."""
    return 4 * size


def _check_max_steps(max_steps: object, size: int) -> int:
    if max_steps is None:
        return default_max_steps(size)
    return checks.positive_int("max_steps (or None for 4 * size)", max_steps)


def start_from_uniform(u: np.ndarray | torch.Tensor, goal_index, n_cells: int):
    """Map uniforms in ``[0, 1)`` to start cells drawn uniformly from the non-goal cells.

    ``floor(u * (n_cells - 1))`` picks one of the ``n_cells - 1`` non-goal cells in index
    order, skipping the goal. Works elementwise on NumPy arrays or torch tensors.
    """
    if isinstance(u, torch.Tensor):
        s = torch.clamp((u * (n_cells - 1)).long(), max=n_cells - 2)
    else:
        s = np.minimum(np.floor(np.asarray(u) * (n_cells - 1)).astype(np.int64), n_cells - 2)
    return s + (s >= goal_index)


def render_rgb(size: int, goal: tuple[int, int], agent: tuple[int, int] | None,
               cell_px: int = 16) -> np.ndarray:
    """Draw the grid as an ``(size * cell_px, size * cell_px, 3)`` ``uint8`` image."""
    img = np.full((size * cell_px, size * cell_px, 3), 245, dtype=np.uint8)
    img[::cell_px, :, :] = 200  # grid lines
    img[:, ::cell_px, :] = 200
    pad = max(1, cell_px // 8)

    def fill(cell, colour):
        r, c = cell
        img[r * cell_px + pad:(r + 1) * cell_px - pad + 1,
            c * cell_px + pad:(c + 1) * cell_px - pad + 1] = colour

    fill(goal, (0, 158, 115))  # bluish green (Okabe-Ito)
    if agent is not None:
        fill(agent, (0, 114, 178))  # blue (Okabe-Ito)
    return img


class GoalGridEnv(gym.Env):
    """Reach a goal cell of an ``n x n`` grid in as few steps as possible.

    ## Description
    The grid world of the CLIP-RL paper (section 5). The agent starts on a random cell and
    must walk to the goal; each task of the paper ("top left first", ...) is this env with
    a different goal (see :mod:`cliprl_helpers.core.tasks`).

    ## Action Space
    ``Discrete(4)``: ``0`` up, ``1`` right, ``2`` down, ``3`` left. A move into a wall leaves
    the agent in place.

    ## Observation Space
    ``Discrete(n * n)``: the agent's cell as ``row * n + col``, row 0 at the top. The goal is
    not part of the observation: one policy serves one goal, as in the paper.

    ## Starting State
    A cell drawn uniformly from the ``n * n - 1`` non-goal cells with ``np_random``, or the
    cell given by ``reset(options={"start": (row, col)})``.

    ## Reward
    ``-1`` for every step, the step onto the goal included, so the return of an episode is
    minus its length and "maximise return" means "reach the goal in the fewest steps".

    ## Episode End
    * Termination: the agent reaches the goal.
    * Truncation: ``max_steps`` steps have passed (default ``4 * n``).

    ## Arguments
    * ``size``: grid side ``n``, an integer >= 2.
    * ``goal``: the goal cell ``(row, col)``; default ``(0, 0)``.
    * ``max_steps``: the step cap; default ``4 * size``.
    * ``render_mode``: ``None``, ``"ansi"`` or ``"rgb_array"``.

    ``gymnasium.make("cliprl/GoalGrid-v0", size=10, goal=(0, 7))`` builds one.

    ## Version History
    * v0: first version.
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 4}

    def __init__(self, size: int = 10, goal: tuple[int, int] = (0, 0),
                 max_steps: int | None = None, render_mode: str | None = None):
        self.size = check_size(size)
        self.goal = check_cell(goal, self.size)
        self.max_steps = _check_max_steps(max_steps, self.size)
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(
                f"unknown render_mode {render_mode!r}: allowed are None, "
                + ", ".join(repr(m) for m in RENDER_MODES)
            )
        self.render_mode = render_mode
        self.n_cells = self.size * self.size
        self.goal_index = cell_index(self.goal, self.size)
        self.observation_space = spaces.Discrete(self.n_cells)
        self.action_space = spaces.Discrete(N_ACTIONS)
        self._table = transition_table(self.size)
        self._cell = 0
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        start = (options or {}).get("start")
        if start is None:
            self._cell = int(start_from_uniform(self.np_random.random(), self.goal_index,
                                                self.n_cells))
        else:
            r, c = check_cell(start, self.size, what="start")
            if (r, c) == self.goal:
                raise ValueError(f"start {start!r} is the goal; start on any other cell")
            self._cell = cell_index((r, c), self.size)
        self._t = 0
        return self._cell, {}

    def step(self, action):
        if not self.action_space.contains(action):
            raise ValueError(f"unknown action {action!r}: allowed are 0..3 ({ACTION_NAMES})")
        self._cell = int(self._table[self._cell, int(action)])
        self._t += 1
        terminated = self._cell == self.goal_index
        truncated = (not terminated) and self._t >= self.max_steps
        return self._cell, STEP_REWARD, terminated, truncated, {}

    @property
    def agent(self) -> tuple[int, int]:
        """The agent's cell as ``(row, col)``."""
        return cell_of(self._cell, self.size)

    def render(self):
        if self.render_mode == "ansi":
            rows = []
            for r in range(self.size):
                line = []
                for c in range(self.size):
                    line.append("A" if (r, c) == self.agent else
                                "G" if (r, c) == self.goal else ".")
                rows.append(" ".join(line))
            return "\n".join(rows) + "\n"
        if self.render_mode == "rgb_array":
            return render_rgb(self.size, self.goal, self.agent)
        return None


class BatchedGoalGrid:
    """Many :class:`GoalGridEnv` copies stepped at once (behind the vector API).

    Every copy has its own goal and step counter; all share the grid size and step cap.
    Randomness is passed in (uniforms in ``[0, 1)``), so the caller owns the random
    streams: the population trainer gives each agent its own.

    The same code runs on torch tensors (``backend="torch"``, for the trainer) or NumPy
    arrays (``backend="numpy"``, for :class:`GoalGridVectorEnv`, where NumPy's lower
    per-call overhead wins).

    Args:
        size: grid side ``n``.
        goals: ``(N,)`` goal cell indices (``row * n + col``), one per env.
        max_steps: step cap per episode (default ``4 * size``).
        backend: ``"torch"`` or ``"numpy"``.
    """

    def __init__(self, size: int, goals, max_steps: int | None = None,
                 backend: str = "torch"):
        if backend not in ("torch", "numpy"):
            raise ValueError(f"unknown backend {backend!r}: allowed are 'torch', 'numpy'")
        self.size = check_size(size)
        self.n_cells = self.size * self.size
        self.max_steps = _check_max_steps(max_steps, self.size)
        self.backend = backend
        goals_np = _cell_indices("goals", goals, self.n_cells, size)
        if goals_np.size == 0:
            raise ValueError("BatchedGoalGrid needs at least one env (got no goals)")
        bad = (goals_np < 0) | (goals_np >= self.n_cells)
        if bad.any():
            raise ValueError(
                f"goal indices {goals_np[bad].tolist()} are off the {size}x{size} grid: "
                f"allowed are 0..{self.n_cells - 1}"
            )
        self.num_envs = int(goals_np.size)
        table = transition_table(self.size).reshape(-1)  # (n*n*4,)
        rewards = np.full(self.num_envs, STEP_REWARD, dtype=np.float32)
        zeros = np.zeros(self.num_envs, dtype=np.int64)
        if backend == "torch":
            self._as, self._where = torch.as_tensor, torch.where
        else:
            self._as, self._where = np.asarray, np.where
        self.goals = self._as(goals_np)
        self.table = self._as(table)
        self._rewards = self._as(rewards)
        self._zeros = self._as(zeros)
        self.cells = self._as(zeros.copy())
        self.t = self._as(zeros.copy())

    def reset(self, u=None, starts=None):
        """Reset every env, from uniforms ``u`` ``(N,)`` or explicit start cells ``(N,)``."""
        if (u is None) == (starts is None):
            raise ValueError("pass exactly one of u (uniforms) or starts (cell indices)")
        if starts is not None:
            starts = _cell_indices("starts", starts, self.n_cells, self.size)
            if starts.shape != (self.num_envs,):
                raise ValueError(f"starts must hold one cell per env ({self.num_envs}), got "
                                 f"{starts.size}")
            starts = self._as(starts)
            if bool((starts == self.goals).any()):
                raise ValueError("a start cell equals its env's goal; start elsewhere")
            self.cells = starts
        else:
            self.cells = start_from_uniform(u, self.goals, self.n_cells)
        self.t = self._zeros
        return self.cells

    def step(self, actions):
        """Move every env by one action ``(N,)``; no reset happens here.

        Returns ``(next_cells, rewards, terminated, truncated)``, each of shape ``(N,)``.
        Every call makes new arrays (state is replaced, never written in place), so returned
        values stay valid; treat them as read-only. The actions are checked (integers in
        0..3, one per env); the trainer, whose actions are valid by construction, calls
        :meth:`step_unchecked`.
        """
        a = actions.cpu().numpy() if isinstance(actions, torch.Tensor) else np.asarray(actions)
        if a.shape != (self.num_envs,) or a.dtype.kind not in "iu" or \
                (a.size and (a.min() < 0 or a.max() > 3)):
            raise ValueError(f"actions must be {self.num_envs} integers in 0..3 (up, right, "
                             f"down, left), got {actions!r}")
        return self.step_unchecked(self._as(a.astype(np.int64)))

    def step_unchecked(self, actions):
        """:meth:`step` without checking ``actions`` (the trainer's hot loop)."""
        self.cells = self.table[self.cells * N_ACTIONS + actions]
        self.t = self.t + 1
        terminated = self.cells == self.goals
        truncated = (self.t >= self.max_steps) & ~terminated
        return self.cells, self._rewards, terminated, truncated

    def select(self, keep) -> None:
        """Keep only the envs where ``keep`` ``(N,)`` is True (state and goals included)."""
        self.goals, self.cells, self.t = self.goals[keep], self.cells[keep], self.t[keep]
        self._rewards, self._zeros = self._rewards[keep], self._zeros[keep]
        self.num_envs = int(self.goals.shape[0])

    def reset_done(self, done, u):
        """Restart the envs where ``done`` ``(N,)`` is True, from uniforms ``u`` ``(N,)``.

        Returns the current cells ``(N,)`` (fresh starts where done).
        """
        fresh = start_from_uniform(u, self.goals, self.n_cells)
        self.cells = self._where(done, fresh, self.cells)
        self.t = self._where(done, self._zeros, self.t)
        return self.cells


class GoalGridVectorEnv(VectorEnv):
    """:class:`BatchedGoalGrid` behind gymnasium's vector API.

    Autoreset: ``AutoresetMode.NEXT_STEP`` by default, as in gymnasium's own vector envs
    (the step after an episode ends returns the new start with reward 0 and ignores the
    action); ``AutoresetMode.SAME_STEP`` resets within the ending step and puts the last
    observation in ``info["final_obs"]``.

    Args:
        num_envs: number of envs.
        size: grid side ``n``.
        goal: one ``(row, col)`` for every env, or a sequence of ``num_envs`` of them.
        max_steps: step cap per episode.
        autoreset_mode: ``AutoresetMode.NEXT_STEP`` or ``AutoresetMode.SAME_STEP``.
    """

    def __init__(self, num_envs: int = 1, size: int = 10,
                 goal: tuple[int, int] | Sequence[tuple[int, int]] = (0, 0),
                 max_steps: int | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 render_mode: str | None = None):
        num_envs = checks.positive_int("num_envs", num_envs)
        size = check_size(size)
        goals = [goal] * num_envs if _is_cell(goal) else list(goal)  # type: ignore[list-item]
        if len(goals) != num_envs:
            raise ValueError(f"got {len(goals)} goals for {num_envs} envs: give one or num_envs")
        goals = [check_cell(g, size) for g in goals]
        mode = AutoresetMode(autoreset_mode)
        if mode == AutoresetMode.DISABLED:
            raise ValueError("autoreset_mode must be NEXT_STEP or SAME_STEP, got DISABLED")
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(f"unknown render_mode {render_mode!r}: allowed are None, "
                             + ", ".join(repr(m) for m in RENDER_MODES))
        self.num_envs = num_envs
        self.size = size
        self.goal_cells = goals
        self.render_mode = render_mode
        self.metadata = {"autoreset_mode": mode, "render_modes": list(RENDER_MODES)}
        self.autoreset_mode = mode
        self.single_observation_space = spaces.Discrete(size * size)
        self.single_action_space = spaces.Discrete(N_ACTIONS)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._core = BatchedGoalGrid(size, cell_indices(goals, size), max_steps,
                                     backend="numpy")
        self._needs_reset = np.zeros(num_envs, dtype=bool)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        starts = (options or {}).get("starts")
        if starts is None:
            cells = self._core.reset(u=self.np_random.random(self.num_envs))
        else:
            idx = cell_indices(starts, self.size, "start")
            cells = self._core.reset(starts=idx)
        self._needs_reset = np.zeros(self.num_envs, dtype=bool)
        return cells.copy(), {}

    def step(self, actions):
        actions = np.asarray(actions)
        if (actions.shape != (self.num_envs,) or actions.dtype.kind not in "iu"
                or actions.min() < 0 or actions.max() > 3):
            raise ValueError(f"actions must be {self.num_envs} ints in 0..3, got {actions!r}")
        u = self.np_random.random(self.num_envs)
        core = self._core
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            pending = self._needs_reset
            _, _, term, trunc = core.step_unchecked(actions)
            # envs that ended on the previous step restart now: their move is discarded
            cells = core.reset_done(pending, u)
            keep = ~pending
            term, trunc = term & keep, trunc & keep
            self._needs_reset = term | trunc
            return cells.copy(), np.where(keep, STEP_REWARD, 0.0), term, trunc, {}
        cells, _, term, trunc = core.step_unchecked(actions)
        done = term | trunc
        infos: dict[str, Any] = {}
        if done.any():
            final = np.full(self.num_envs, None, dtype=object)
            final[done] = cells[done]
            infos = {"final_obs": final, "_final_obs": done,
                     "final_info": np.full(self.num_envs, {}, dtype=object),
                     "_final_info": done}
        cells = core.reset_done(done, u)
        return cells.copy(), np.full(self.num_envs, STEP_REWARD), term, trunc, infos

    def render(self):
        if self.render_mode is None:
            return None
        frames = []
        for i, goal in enumerate(self.goal_cells):
            env = GoalGridEnv(self.size, goal, render_mode=self.render_mode)
            env._cell = int(self._core.cells[i])
            frames.append(env.render())
        return tuple(frames)


def episode_lengths(size: int, goal: tuple[int, int], policy: np.ndarray | None,
                    n_episodes: int, seed: int, max_steps: int | None = None) -> np.ndarray:
    """Play ``n_episodes`` episodes at once and return their lengths ``(n_episodes,)``.

    Args:
        size, goal: the grid and its goal cell.
        policy: an ``(size * size,)`` array with one action per cell, or ``None`` for a
            uniformly random agent.
        n_episodes: episodes to play, each from a uniformly random non-goal start.
        seed: seeds one ``numpy.random.Generator`` for starts and random actions.
        max_steps: the step cap (default ``4 * size``).

    Returns:
        ``int64`` lengths; an episode that hit the cap without reaching the goal has length
        ``-1`` (censored), so callers cannot mistake it for a finished one.
    """
    size = check_size(size)
    goal = check_cell(goal, size)
    n_episodes = checks.positive_int("n_episodes", n_episodes)
    if policy is not None:
        table = np.asarray(policy)
        if table.shape != (size * size,) or table.dtype.kind not in "iu" or \
                table.min() < 0 or table.max() > 3:
            raise ValueError(f"policy must be {size * size} integer actions in 0..3, one per "
                             f"cell of the {size}x{size} grid, got shape {table.shape} "
                             f"({table.dtype})")
        policy = table.astype(np.int64)
    rng = np.random.default_rng(seed)
    core = BatchedGoalGrid(size, [cell_index(goal, size)] * n_episodes, max_steps,
                           backend="numpy")
    cells = core.reset(u=rng.random(n_episodes))
    lengths = np.zeros(n_episodes, dtype=np.int64)
    running = np.ones(n_episodes, dtype=bool)
    while running.any():
        if policy is None:
            actions = rng.integers(0, 4, n_episodes)
        else:
            actions = np.asarray(policy, dtype=np.int64)[cells]
        cells, _, term, trunc = core.step_unchecked(actions)
        lengths[running & term] = core.t[running & term]
        lengths[running & trunc] = -1
        running &= ~(term | trunc)
    return lengths


def _is_cell(goal: object) -> bool:
    if isinstance(goal, np.ndarray):
        return goal.shape == (2,) and goal.dtype.kind in "iu"
    return (isinstance(goal, (tuple, list)) and len(goal) == 2
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in goal))


def _cell_indices(name: str, cells, n_cells: int, size: int) -> np.ndarray:
    """``cells`` as an int64 array of cell indices, each in ``0..n_cells - 1``."""
    arr = np.asarray(cells.cpu() if isinstance(cells, torch.Tensor) else cells).reshape(-1)
    if arr.size and arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integer cell indices (row * {size} + col), got "
                         f"{arr.tolist()[:8]} ({arr.dtype})")
    arr = arr.astype(np.int64)
    bad = (arr < 0) | (arr >= n_cells)
    if bad.any():
        raise ValueError(f"{name} {arr[bad].tolist()} are off the {size}x{size} grid: allowed "
                         f"cell indices are 0..{n_cells - 1}")
    return arr


def register() -> None:
    """Register ``cliprl/GoalGrid-v0`` (and its vector env) with gymnasium (idempotent), by
    ``"module:Class"`` strings as every env package does, so that its spec serialises to JSON
    (``gym.spec(ENV_ID).to_json()``) and round-trips."""
    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point=f"{__name__}:GoalGridEnv",
                     vector_entry_point=f"{__name__}:GoalGridVectorEnv")
