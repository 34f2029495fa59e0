"""Instructions, the goals they name, and the exact geometry of a goal .

The paper's grid-world tasks are top-row goals named by short instructions:

* ``"top left first"``   -> ``(0, 0)``
* ``"top left second"``  -> ``(0, 1)``
* ``"top right first"``  -> ``(0, n - 1)``
* ``"top right second"`` -> ``(0, n - 2)``

The paper's target is printed as ``"top left third"`` with its goal at ``(0, n - 3)``
(its 10x10 example puts it at ``(0, 7)``): the name says *left* but the goal sits beside the
right-hand goals. :func:`paper_tasks` reproduces that reading by default
(``reading="as_printed"``) and offers the self-consistent one (``"top right third"`` at
``(0, n - 3)``) one parameter away.

Cells, indices, moves and walls are defined in :mod:`cliprl_helpers.core.grid`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .grid import (  # noqa: F401  (re-exported: tasks.ACTION_NAMES, ...)
    ACTION_DELTAS,
    ACTION_NAMES,
    DOWN,
    LEFT,
    RIGHT,
    UP,
    check_cell,
    check_size,
    distances,
    transition_table,
)
from .mdp import World, as_world

PAPER_BASE_INSTRUCTIONS = (
    "top left first",
    "top left second",
    "top right first",
    "top right second",
)
#: The two readings of the paper's target task.
READINGS = ("as_printed", "self_consistent")

_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12,
}
_INSTRUCTION_RE = re.compile(r"^top (left|right) (\w+)$")


def goal_for(instruction: str, size: int) -> tuple[int, int]:
    """The goal cell an instruction names on an ``size x size`` grid.

    The grammar is ``"top left <ordinal>"`` -> ``(0, k - 1)`` and ``"top right <ordinal>"``
    -> ``(0, size - k)``, with ordinals ``first`` .. ``twelfth``.

    >>> goal_for("top right second", 10)
    (0, 8)
    """
    size = check_size(size)
    match = _INSTRUCTION_RE.match(instruction.strip().lower()) if isinstance(
        instruction, str) else None
    if match is None or match.group(2) not in _ORDINALS:
        raise ValueError(
            f"unknown instruction {instruction!r}: allowed are 'top left <ordinal>' and "
            f"'top right <ordinal>' with ordinal one of {', '.join(_ORDINALS)}"
        )
    side, k = match.group(1), _ORDINALS[match.group(2)]
    if k > size:
        raise ValueError(
            f"instruction {instruction!r} names goal number {k}, but a {size}x{size} grid has "
            f"only {size} cells in its top row"
        )
    return (0, k - 1) if side == "left" else (0, size - k)


@dataclass(frozen=True)
class TaskSet:
    """Base tasks and one target task on one grid size.

    Attributes:
        world: the :class:`~cliprl_helpers.core.mdp.World` (a grid side ``n`` is taken as
            the ``n x n`` GoalGrid).
        bases: ``{instruction: (row, col)}`` of the pre-trained (source) tasks, in order.
        target: the target instruction.
        target_goal: the target's goal cell.
        reading: which reading of the paper's target this is (see :data:`READINGS`).
    """

    world: World
    bases: dict[str, tuple[int, int]]
    target: str
    target_goal: tuple[int, int]
    reading: str

    def __post_init__(self):
        object.__setattr__(self, "world", as_world(self.world))

    @property
    def instructions(self) -> list[str]:
        """Base instructions followed by the target instruction."""
        return [*self.bases, self.target]

    @property
    def goals(self) -> list[tuple[int, int]]:
        """Base goals followed by the target goal."""
        return [*self.bases.values(), self.target_goal]


def paper_tasks(size: int, reading: str = "as_printed") -> TaskSet:
    """The paper's four base tasks and its target on an ``size x size`` grid.

    Args:
        size: grid side, at least 3 (the target sits at ``(0, size - 3)``).
        reading: ``"as_printed"`` -> target ``"top left third"`` at ``(0, size - 3)``, exactly
            as the paper prints it; ``"self_consistent"`` -> ``"top right third"`` at the same
            cell, so that name and place agree.
    """
    size = check_size(size)
    if size < 4:
        raise ValueError(
            f"the paper's task set needs a grid size >= 4 (five distinct top-row goals), "
            f"got {size}"
        )
    if reading not in READINGS:
        raise ValueError(f"unknown reading {reading!r}: allowed are {', '.join(READINGS)}")
    bases = {instr: goal_for(instr, size) for instr in PAPER_BASE_INSTRUCTIONS}
    target = "top left third" if reading == "as_printed" else "top right third"
    return TaskSet(world=size, bases=bases, target=target, target_goal=(0, size - 3),
                   reading=reading)


def optimal_action_mask(size: int, goal: tuple[int, int]) -> np.ndarray:
    """Which actions are optimal in which cell.

    Returns a boolean array of shape ``(size * size, 4)``: entry ``[s, a]`` is True when
    action ``a`` taken in cell ``s`` strictly reduces the shortest-path distance to ``goal``.
    The goal's own row is all False (no action is needed there).
    """
    dist = distances(size, goal).reshape(-1)
    return dist[transition_table(size)] < dist[:, None]


def optimal_policy(size: int, goal: tuple[int, int]) -> np.ndarray:
    """One optimal action per cell: the first optimal action in ``ACTION_NAMES`` order.

    Returns an ``int64`` array of shape ``(size * size,)``; the goal cell gets ``UP``
    (never used: episodes end there).
    """
    mask = optimal_action_mask(size, goal)
    return np.where(mask.any(axis=1), mask.argmax(axis=1), UP).astype(np.int64)


_ORDINAL_NAMES = {v: k for k, v in _ORDINALS.items()}


def top_row_family(size: int) -> dict[str, tuple[int, int]]:
    """Every top-row goal with a self-consistent name: the left half counted from the left
    ("top left <k>"), the right half from the right ("top right <k>")."""
    size = check_size(size)
    if size > 2 * len(_ORDINALS):
        raise ValueError(f"top_row_family names at most {2 * len(_ORDINALS)} columns, "
                         f"got size {size}")
    fam = {}
    for c in range(size):
        if c < (size + 1) // 2:
            fam[f"top left {_ORDINAL_NAMES[c + 1]}"] = (0, c)
        else:
            fam[f"top right {_ORDINAL_NAMES[size - c]}"] = (0, c)
    return fam


def paraphrase(instruction: str) -> str:
    """A different wording of a ``"top left|right <ordinal>"`` instruction.

    >>> paraphrase("top left third")
    'the third square from the left in the first row'
    """
    if not isinstance(instruction, str):
        raise ValueError(f"cannot paraphrase {instruction!r}: expected a string 'top left|right "
                         f"<ordinal>'")
    match = _INSTRUCTION_RE.match(instruction.strip().lower())
    if match is None or match.group(2) not in _ORDINALS:
        raise ValueError(f"cannot paraphrase {instruction!r}: expected 'top left|right <ordinal>'")
    return f"the {match.group(2)} square from the {match.group(1)} in the first row"
