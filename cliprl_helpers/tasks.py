"""Instructions, the goals they name, and the exact geometry of a goal (chapter 1).

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

Cells are ``(row, col)`` with row 0 at the top; a cell's index is ``row * n + col``.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

import numpy as np

#: Action ids shared by every environment of the book (named as in gymnasium's toy-text envs).
UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3
ACTION_NAMES = ("up", "right", "down", "left")
#: (d_row, d_col) per action id.
ACTION_DELTAS = ((-1, 0), (0, 1), (1, 0), (0, -1))

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


def check_size(size: object) -> int:
    """Return ``size`` if it is an integer >= 2, else raise ``ValueError``."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise ValueError(f"grid size must be an integer >= 2, got {size!r}")
    if size < 2:
        raise ValueError(f"grid size must be an integer >= 2, got {size!r}")
    return int(size)


def check_cell(cell: object, size: int, what: str = "goal") -> tuple[int, int]:
    """Return ``cell`` as a ``(row, col)`` tuple of ints on an ``size x size`` grid.

    Raises ``ValueError`` if it is not a pair of integers or lies off the grid.
    """
    try:
        row, col = cell  # type: ignore[misc]
    except (TypeError, ValueError):
        raise ValueError(
            f"{what} must be a (row, col) pair of integers, got {cell!r}"
        ) from None
    for v in (row, col):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"{what} must be a (row, col) pair of integers, got {cell!r}")
    if not (0 <= row < size and 0 <= col < size):
        raise ValueError(
            f"{what} {cell!r} is off the {size}x{size} grid: rows and columns must be in "
            f"0..{size - 1}"
        )
    return int(row), int(col)


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
        size: grid side ``n``.
        bases: ``{instruction: (row, col)}`` of the pre-trained (source) tasks, in order.
        target: the target instruction.
        target_goal: the target's goal cell.
        reading: which reading of the paper's target this is (see :data:`READINGS`).
    """

    size: int
    bases: dict[str, tuple[int, int]]
    target: str
    target_goal: tuple[int, int]
    reading: str

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
    return TaskSet(size=size, bases=bases, target=target, target_goal=(0, size - 3),
                   reading=reading)


def distances(size: int, goal: tuple[int, int]) -> np.ndarray:
    """Exact shortest-path distance (in steps) from every cell to ``goal``.

    Computed by breadth-first search over the four moves, so it stays exact if a later
    chapter adds obstacles. Returns an ``int64`` array of shape ``(size, size)``.
    """
    size = check_size(size)
    goal = check_cell(goal, size)
    dist = np.full((size, size), -1, dtype=np.int64)
    dist[goal] = 0
    queue = deque([goal])
    while queue:
        r, c = queue.popleft()
        for dr, dc in ACTION_DELTAS:
            nr, nc = r + dr, c + dc
            if 0 <= nr < size and 0 <= nc < size and dist[nr, nc] < 0:
                dist[nr, nc] = dist[r, c] + 1
                queue.append((nr, nc))
    return dist


def optimal_action_mask(size: int, goal: tuple[int, int]) -> np.ndarray:
    """Which actions are optimal in which cell.

    Returns a boolean array of shape ``(size * size, 4)``: entry ``[s, a]`` is True when
    action ``a`` taken in cell ``s`` strictly reduces the shortest-path distance to ``goal``.
    The goal's own row is all False (no action is needed there).
    """
    dist = distances(size, goal)
    mask = np.zeros((size * size, 4), dtype=bool)
    for a, (dr, dc) in enumerate(ACTION_DELTAS):
        rows = np.clip(np.arange(size)[:, None] + dr, 0, size - 1)
        cols = np.clip(np.arange(size)[None, :] + dc, 0, size - 1)
        mask[:, a] = (dist[rows, cols] < dist).reshape(-1)
    return mask


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
