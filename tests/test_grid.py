"""Grid geometry: indices, the wall rule and distances, defined once in cliprl_helpers.core.grid."""

from __future__ import annotations

import numpy as np
import pytest

from cliprl_helpers.core import envs, grid, tasks


def test_cell_index_and_cell_of_are_inverse_row_major():
    assert grid.cell_index((0, 0), 5) == 0
    assert grid.cell_index((2, 3), 5) == 13
    assert grid.cell_of(13, 5) == (2, 3)
    assert all(grid.cell_of(grid.cell_index((r, c), 4), 4) == (r, c)
               for r in range(4) for c in range(4))
    rows, cols = grid.rows_cols(3)
    assert rows.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2] and cols.tolist() == [0, 1, 2] * 3


@pytest.mark.parametrize("call, words", [
    (lambda: grid.cell_index((5, 0), 5), "off the 5x5 grid"),
    (lambda: grid.cell_of(25, 5), "0..24"),
    (lambda: grid.cell_of(-1, 5), "0..24"),
    (lambda: grid.cell_of(True, 5), "True"),
])
def test_off_grid_cells_are_refused_with_the_range(call, words):
    with pytest.raises(ValueError, match=words):
        call()


def test_walls_keep_the_agent_in_place_and_moves_go_where_named():
    t = grid.transition_table(3)
    centre = grid.cell_index((1, 1), 3)
    assert [grid.cell_of(int(s), 3) for s in t[centre]] == [(0, 1), (1, 2), (2, 1), (1, 0)]
    corner = grid.cell_index((0, 0), 3)
    assert t[corner, grid.UP] == corner and t[corner, grid.LEFT] == corner
    assert envs.transition_table is grid.transition_table  # one wall rule for every module


def test_distances_are_manhattan_on_the_open_grid_and_agree_with_the_optimal_mask():
    d = grid.distances(6, (0, 3))
    r, c = np.indices((6, 6))
    assert (d == r + np.abs(c - 3)).all()
    mask = tasks.optimal_action_mask(6, (0, 3))
    nxt = grid.transition_table(6)
    flat = d.reshape(-1)
    assert (mask == (flat[nxt] == flat[:, None] - 1)).all()
    assert not mask[grid.cell_index((0, 3), 6)].any()
