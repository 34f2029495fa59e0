"""Grid geometry, in one place: cells, their indices, moves and walls.

Every module of the book (environment, tasks, trainer, plots) takes its geometry from here:

* a cell is ``(row, col)`` with row 0 at the top; its index is ``row * n + col``
  (:func:`cell_index`, :func:`cell_of`);
* the four moves are ``ACTION_DELTAS`` (up, right, down, left, as gymnasium's toy-text envs);
* the wall rule: a move off the grid leaves the agent where it is (:func:`transition_table`);
* :func:`distances` is the exact shortest-path distance to a goal under those moves.
"""

from __future__ import annotations

from collections import deque

import numpy as np

#: Action ids shared by every environment of the book.
UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3
ACTION_NAMES = ("up", "right", "down", "left")
#: (d_row, d_col) per action id.
ACTION_DELTAS = ((-1, 0), (0, 1), (1, 0), (0, -1))
#: The number of actions (up, right, down, left).
N_ACTIONS = len(ACTION_DELTAS)


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


def cell_index(cell: tuple[int, int], size: int) -> int:
    """The index ``row * size + col`` of a ``(row, col)`` cell (checked to be on the grid)."""
    row, col = check_cell(cell, check_size(size), "cell")
    return row * size + col


def cell_indices(cells, size: int, what: str = "goal") -> list[int]:
    """:func:`cell_index` of each cell in ``cells``."""
    size = check_size(size)
    out = []
    for cell in cells:
        row, col = check_cell(cell, size, what)
        out.append(row * size + col)
    return out


def cell_of(index: int, size: int) -> tuple[int, int]:
    """The ``(row, col)`` cell of an index (the inverse of :func:`cell_index`)."""
    size = check_size(size)
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or \
            not 0 <= index < size * size:
        raise ValueError(f"cell index must be an integer in 0..{size * size - 1}, got {index!r}")
    row, col = divmod(int(index), size)
    return row, col


def rows_cols(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every cell, in index order: two ``(size * size,)`` arrays."""
    return np.divmod(np.arange(check_size(size) * size), size)


def transition_table(size: int) -> np.ndarray:
    """Next cell for every (cell, action): an ``int64`` array of shape ``(size * size, 4)``.

    Moving into a wall leaves the agent where it is.
    """
    size = check_size(size)
    rows, cols = rows_cols(size)
    table = np.empty((size * size, N_ACTIONS), dtype=np.int64)
    for a, (dr, dc) in enumerate(ACTION_DELTAS):
        table[:, a] = np.clip(rows + dr, 0, size - 1) * size + np.clip(cols + dc, 0, size - 1)
    return table


def distances(size: int, goal: tuple[int, int]) -> np.ndarray:
    """Exact shortest-path distance (in steps) from every cell to ``goal``.

    Computed by breadth-first search over :func:`transition_table`, so it stays exact if a
    later world adds obstacles. Returns an ``int64`` array of shape ``(size, size)``.
    """
    size = check_size(size)
    table = transition_table(size)
    start = cell_index(check_cell(goal, size), size)
    dist = np.full(size * size, -1, dtype=np.int64)
    dist[start] = 0
    queue = deque([start])
    while queue:
        s = queue.popleft()
        for nxt in table[s]:  # moves are reversible on an open grid: neighbours of s
            if dist[nxt] < 0:
                dist[nxt] = dist[s] + 1
                queue.append(int(nxt))
    return dist.reshape(size, size)
