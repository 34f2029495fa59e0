"""The paper's Figure 1 on Minigrid's own environment.

Nine Minigrid objects (a ``Key``, a ``Ball`` and a ``Box`` in each of Minigrid's colours
red, green and blue) stand in one walled Minigrid room; the task "go to the {colour} {type}"
is Minigrid's ``GoToObject`` task: its mission string, and its success rule (the ``done``
action taken beside the named object; ``done`` anywhere else ends the episode unrewarded).
Two layouts place the objects:

* ``"by_colour"``: each colour in its own corner of the room (the paper's premise: colour
  predicts where an object is, so a same-colour object is the better source);
* ``"minigrid"``: Minigrid's own random placement (``place_obj``, as ``GoToObject`` does),
  from a seed: no reason for colour to predict position.

:class:`ObjectRoomEnv` is the environment (a ``GoToObjectEnv`` subclass, registered as
``cliprl/GoToObjectRoom-v0``, rendered by Minigrid). The trainer sees the room as a
:class:`Room` world (:mod:`cliprl_helpers.core.mdp`): the fully observed symbolic state
(position and direction) and, for each task, a table **extracted from Minigrid's own step**
for every (cell, direction, action) (:func:`extract_table`). :func:`register` registers
the environment with gymnasium (importing the package does).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version

import gymnasium as gym
import numpy as np
from minigrid.core.grid import Grid
from minigrid.core.mission import MissionSpace
from minigrid.core.world_object import Ball, Box, Key
from minigrid.envs.gotoobject import GoToObjectEnv
from minigrid.minigrid_env import MiniGridEnv

from . import checks
from .grid import N_ACTIONS
from .mdp import TaskTable, World

#: The room's gymnasium id (:func:`register`).
ROOM_ENV_ID = "cliprl/GoToObjectRoom-v0"
OBJECT_TYPES = ("key", "ball", "box")
COLOURS = ("red", "green", "blue")
LAYOUTS = ("by_colour", "minigrid")
LAYOUT_NAMES = {"by_colour": "by colour", "minigrid": "Minigrid placement"}
#: The agent's 4 actions as Minigrid action ids: left, right, forward, done.
MINIGRID_ACTIONS = (0, 1, 2, 6)
ACTION_NAMES = ("left", "right", "forward", "done")
#: Minigrid's directions: 0 east (right), 1 south (down), 2 west (left), 3 north (up).
N_DIRS = 4
MIN_SIZE = 9


def instruction(colour: str, obj_type: str) -> str:
    """Minigrid's ``GoToObject`` mission string."""
    return f"go to the {colour} {obj_type}"


def _by_colour(size: int) -> dict[str, tuple[int, int]]:
    """Red top-left, blue top-right, green bottom-left; the same shape in each corner."""
    corner = {"key": (1, 1), "ball": (1, 3), "box": (3, 2)}
    out = {}
    for colour in COLOURS:
        for t in OBJECT_TYPES:
            r, c = corner[t]
            if colour == "blue":
                c = size - 1 - c
            elif colour == "green":
                r = size - 1 - r
            out[instruction(colour, t)] = (r, c)
    return out


def _make_obj(obj_type: str, colour: str):
    return {"key": Key, "ball": Ball, "box": Box}[obj_type](colour)


def _connected(size: int, objects) -> bool:
    """Every free interior cell reachable from every other (objects are obstacles), and
    every object beside a free cell (so ``done`` can be pressed next to it)."""
    blocked = set(objects)
    free = [(r, c) for r in range(1, size - 1) for c in range(1, size - 1)
            if (r, c) not in blocked]
    seen, queue = {free[0]}, deque([free[0]])
    while queue:
        r, c = queue.popleft()
        for n in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if n in set(free) and n not in seen:
                seen.add(n)
                queue.append(n)
    beside = all(any(n in seen for n in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)))
                 for r, c in blocked)
    return len(seen) == len(free) and beside


@lru_cache(maxsize=32)
def _minigrid_placement(size: int, seed: int) -> tuple[tuple[str, tuple[int, int]], ...]:
    """Minigrid's ``place_obj`` for the nine objects, from ``seed`` (redrawn from the same
    random stream until the room stays connected)."""
    class _Placement(MiniGridEnv):
        def __init__(self):
            super().__init__(mission_space=MissionSpace(mission_func=lambda: "place"),
                             width=size, height=size, max_steps=1)

        def _gen_grid(self, width, height):
            self.grid = Grid(width, height)
            self.grid.wall_rect(0, 0, width, height)
            self.placed = {instruction(c, t): self.place_obj(_make_obj(t, c))
                           for c in COLOURS for t in OBJECT_TYPES}
            self.place_agent()

    env = _Placement()
    env.reset(seed=seed)
    for _ in range(1000):
        cells = {i: (int(y), int(x)) for i, (x, y) in env.placed.items()}
        if _connected(size, cells.values()):
            return tuple(cells.items())
        env.reset()  # the same seeded stream continues: deterministic
    raise ValueError(f"no connected Minigrid placement of the nine objects in a {size}x{size} "
                     f"room from seed {seed}; use a larger room")


def layout(kind: str = "by_colour", size: int = MIN_SIZE, seed: int = 0
           ) -> dict[str, tuple[int, int]]:
    """``{instruction: (row, col)}`` of the nine objects (row 0 is the top wall)."""
    kind = checks.choice("layout", kind, LAYOUTS)
    size = checks.integer("room size", size, low=MIN_SIZE)
    seed = checks.integer("layout seed", seed, low=0)
    if kind == "by_colour":
        return _by_colour(size)
    return dict(_minigrid_placement(size, seed))


class ObjectRoomEnv(GoToObjectEnv):
    """Minigrid's ``GoToObjectEnv`` on a fixed room of nine objects.

    ## Description
    A walled ``size x size`` Minigrid room with a red, a green and a blue ``Key``,
    ``Ball`` and ``Box`` placed by ``layout`` (see :func:`layout`). The mission is
    Minigrid's "go to the {colour} {type}" for ``instruction``.

    ## Action Space
    Minigrid's ``Discrete(7)``; the task needs ``left`` (0), ``right`` (1),
    ``forward`` (2) and ``done`` (6).

    ## Observation Space
    Minigrid's: the 7x7 egocentric ``image``, ``direction`` and ``mission``. The
    book's agent reads the fully observed symbolic state instead (:func:`state_of`).

    ## Starting State
    Minigrid's ``place_agent``: a uniformly random free cell and direction.

    ## Reward, Episode End
    ``GoToObjectEnv``'s, unchanged: ``done`` beside the named object succeeds with
    ``1 - 0.9 * step_count / max_steps``; ``done`` elsewhere (or ``toggle``) ends the
    episode with 0; truncation after ``max_steps`` (default ``5 * size**2``).

    ## Arguments
    * ``layout``: ``"by_colour"`` or ``"minigrid"`` (see :func:`layout`).
    * ``size``: the room's side, walls included, an integer >= 9; default 9.
    * ``layout_seed``: the seed of Minigrid's placement (the ``"minigrid"`` layout).
    * ``instruction``: the mission, e.g. ``"go to the red ball"``.
    * ``max_steps``, ``render_mode``: as Minigrid's ``GoToObjectEnv``.

    ## Version History
    * v0: first version.
    """

    def __init__(self, layout: str = "by_colour", size: int = MIN_SIZE,
                 layout_seed: int = 0, instruction: str = "go to the red ball",
                 max_steps: int | None = None, **kwargs):
        self.room = Room(layout, size, layout_seed)
        if instruction not in self.room.objects:
            raise ValueError(f"unknown instruction {instruction!r}: allowed are "
                             f"{', '.join(self.room.objects)}")
        self.instruction = instruction
        super().__init__(size=self.room.size, numObjs=len(self.room.objects),
                         max_steps=max_steps, **kwargs)

    def _gen_grid(self, width, height):
        self.grid = Grid(width, height)
        self.grid.wall_rect(0, 0, width, height)
        for instr, (r, c) in self.room.objects.items():
            colour, obj_type = instr.split()[-2:]
            self.put_obj(_make_obj(obj_type, colour), c, r)
        self.place_agent()
        self.target_color, self.targetType = self.instruction.split()[-2:]
        r, c = self.room.objects[self.instruction]
        self.target_pos = (c, r)
        self.mission = self.instruction


def state_of(env) -> int:
    """The symbolic state index ``(row * size + col) * 4 + direction`` of a room env."""
    x, y = env.unwrapped.agent_pos
    return (int(y) * env.unwrapped.width + int(x)) * N_DIRS + int(env.unwrapped.agent_dir)


@lru_cache(maxsize=64)
def extract_table(layout_kind: str, size: int, layout_seed: int, target: str) -> TaskTable:
    """The task ``target`` as a :class:`TaskTable`, from Minigrid's own ``step``.

    For every free cell and direction and each of the 4 actions, the env is put in that
    state (``agent_pos``, ``agent_dir``, ``step_count = 0``) and stepped once with the
    Minigrid action id; the next state, whether it terminated and whether it succeeded
    (reward > 0) are recorded. The reward is Minigrid's success reward of a first step,
    ``1 - 0.9 / max_steps`` (the decay with the step count is not a function of the state;
    the discount does its job of preferring short paths), 0 otherwise.
    """
    env = ObjectRoomEnv(layout=layout_kind, size=size, layout_seed=layout_seed,
                   instruction=target)
    env.reset(seed=0)
    S = size * size * N_DIRS
    nxt = np.tile(np.arange(S, dtype=np.int64)[:, None], (1, N_ACTIONS))
    reward = np.zeros((S, N_ACTIONS), dtype=np.float32)
    terminal = np.zeros((S, N_ACTIONS), dtype=bool)
    starts = np.zeros(S, dtype=bool)
    blocked = set(env.room.objects.values())
    for r in range(1, size - 1):
        for c in range(1, size - 1):
            if (r, c) in blocked:
                continue
            for d in range(N_DIRS):
                s = (r * size + c) * N_DIRS + d
                starts[s] = True
                for a, action in enumerate(MINIGRID_ACTIONS):
                    env.agent_pos, env.agent_dir, env.step_count = (c, r), d, 0
                    _, rew, term, _, _ = env.step(action)
                    nxt[s, a], reward[s, a], terminal[s, a] = state_of(env), rew, term
    return TaskTable(next_state=nxt, reward=reward, terminal=terminal, success=reward > 0,
                     starts=starts)


@dataclass(frozen=True)
class Room(World):
    """A Minigrid room as a world for the trainer: a goal is the cell of the
    object to go to; states are (cell, direction), ``S = size * size * 4``."""

    layout: str = "by_colour"
    size: int = MIN_SIZE
    layout_seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "layout", checks.choice("layout", self.layout, LAYOUTS))
        object.__setattr__(self, "size", checks.integer("room size", self.size, low=MIN_SIZE))
        object.__setattr__(self, "layout_seed",
                           checks.integer("layout seed", self.layout_seed, low=0))

    @property
    def objects(self) -> dict[str, tuple[int, int]]:
        """``{instruction: (row, col)}`` (:func:`layout`)."""
        return layout(self.layout, self.size, self.layout_seed)

    @property
    def n_states(self) -> int:
        return self.size * self.size * N_DIRS

    @property
    def max_steps(self) -> int:
        return 5 * self.size ** 2  # GoToObjectEnv's default

    @property
    def label(self) -> str:
        return f"Minigrid room {self.size}x{self.size} ({LAYOUT_NAMES[self.layout]})"

    @property
    def slug(self) -> str:
        return f"mg-{self.layout}-{self.size}-s{self.layout_seed}"

    def check_goal(self, goal) -> tuple[int, int]:
        cells = {tuple(v): k for k, v in self.objects.items()}
        try:
            cell = (int(goal[0]), int(goal[1]))
        except (TypeError, ValueError, IndexError):
            cell = None
        if cell not in cells:
            raise ValueError(f"goal {goal!r} is not an object of the {self.label}: allowed "
                             f"are the object cells {sorted(cells)}")
        return cell

    def instruction_at(self, goal) -> str:
        """The instruction whose object stands at ``goal``."""
        cell = self.check_goal(goal)
        return next(i for i, g in self.objects.items() if g == cell)

    def table(self, goal) -> TaskTable:
        return extract_table(self.layout, self.size, self.layout_seed,
                             self.instruction_at(goal))

    def key(self):
        return {"world": "minigrid-room", "layout": self.layout, "size": self.size,
                "layout_seed": self.layout_seed, "minigrid": version("minigrid")}


def register() -> None:
    """Register ``cliprl/GoToObjectRoom-v0`` (:class:`ObjectRoomEnv`) with gymnasium
    (idempotent), by its ``"module:Class"`` string (its spec serialises to JSON)."""
    if ROOM_ENV_ID not in gym.registry:
        gym.register(id=ROOM_ENV_ID, entry_point=f"{__name__}:ObjectRoomEnv")
