"""Pictures of the grid world: goals, greedy policies as arrows, every method's initial
network on the target task, and chapter 4's before/after picture of an alignment.

Every function takes an optional matplotlib ``Axes`` (or makes a figure) and returns it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from ..core.experiment import initial_policy_maps
from ..core.grid import ACTION_DELTAS, cell_index, check_cell, check_size, rows_cols
from ..core.language import cosine_matrix
from ..core.mdp import grid_side
from ..core.tasks import optimal_action_mask
from .plotting import METHOD_LABELS, METHOD_ORDER, PALETTE


def _grid_axes(ax, size: int, title: str | None):
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ax.set_xlim(-0.5, size - 0.5)
    ax.set_ylim(size - 0.5, -0.5)  # row 0 at the top
    ax.set_aspect("equal")
    ticks = np.arange(size)
    step = 1 if size <= 10 else max(2, round(size / 6))
    ax.set_xticks(ticks[::step])
    ax.set_yticks(ticks[::step])
    ax.set_xticks(np.arange(-0.5, size, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, size, 1), minor=True)
    ax.grid(False)
    ax.grid(which="minor", color="0.85", linewidth=0.5)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    if title:
        ax.set_title(title)
    return ax


def plot_goals(size: int, goals: Mapping[str, tuple[int, int]], ax=None,
               title: str | None = None, highlight: str | None = None):
    """Mark each instruction's goal cell on an ``size x size`` grid.

    ``highlight`` names one instruction (the target) drawn as a star.
    """
    size = check_size(size)
    ax = _grid_axes(ax, size, title or f"{size}x{size}")
    for k, (name, goal) in enumerate(goals.items()):
        r, c = check_cell(goal, size)
        star = name == highlight
        ax.scatter([c], [r], s=160 if star else 70, marker="*" if star else "s",
                   color=PALETTE[k % len(PALETTE)], edgecolor="black", linewidth=0.6,
                   label=name, zorder=3)
    return ax


def plot_policy_arrows(size: int, actions: np.ndarray, goal: tuple[int, int], ax=None,
                       title: str | None = None, correct: np.ndarray | None = None):
    """Draw one arrow per non-goal cell for a greedy policy.

    Args:
        actions: ``(size * size,)`` action ids.
        goal: the goal cell, drawn as a green square.
        correct: optional ``(size * size,)`` bools; wrong arrows are drawn in vermillion.
    """
    size = check_size(size)
    goal = check_cell(goal, size)
    ax = _grid_axes(ax, size, title)
    actions = np.asarray(actions).reshape(-1)
    rows, cols = rows_cols(size)
    deltas = np.asarray(ACTION_DELTAS, dtype=float)[actions]
    keep = np.arange(size * size) != cell_index(goal, size)
    ok = np.ones(size * size, dtype=bool) if correct is None else np.asarray(correct)
    for sel, colour in ((keep & ok, PALETTE[0]), (keep & ~ok, PALETTE[5])):
        if sel.any():
            ax.quiver(cols[sel], rows[sel], deltas[sel, 1], -deltas[sel, 0], color=colour,
                      angles="xy", scale_units="xy", scale=1.6, width=0.006,
                      headwidth=4, pivot="mid")
    ax.scatter([goal[1]], [goal[0]], s=90, marker="s", color=PALETTE[2], edgecolor="black",
               zorder=3)
    return ax


def initial_policies_figure(result, trial: int = 0, per_row: int = 4):
    """Greedy arrows of every method's initial network in ``trial`` (red: not optimal),
    ``per_row`` maps a row. Returns the figure."""
    maps = initial_policy_maps(result, trial)
    n, goal = grid_side(result.tasks.world), result.tasks.target_goal
    mask = optimal_action_mask(n, goal)
    methods = [m for m in METHOD_ORDER if m in maps]
    rows = math.ceil(len(methods) / per_row)
    fig, axes = plt.subplots(rows, per_row, figsize=(4.2 * per_row, 4.5 * rows), squeeze=False)
    first = result.table[result.table.trial == trial].set_index("method")
    for ax, m in zip(axes.flat, methods):
        ok = mask[np.arange(n * n), maps[m]]
        plot_policy_arrows(n, maps[m], goal, ax=ax, correct=ok,
                           title=f"{METHOD_LABELS[m]}\n"
                                 f"{first.loc[m, 'initial_fraction']:.0%} optimal")
    for ax in list(axes.flat)[len(methods):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def alignment_figure(models: dict, lang_emb, policies, delta: float, base_labels,
                     labels):
    """Chapter 4's before/after picture, one row per model in ``models`` (``{name: model}``):
    left, which policy each base instruction picks (softmax of ``S_ij / delta``); right, the
    cosines between projected instructions (bases and target).

    Args:
        lang_emb: ``(N + 1, dim)`` sentence embeddings, bases then target.
        policies: ``(N, D)`` flat base policies of the trial.
    Returns the figure.
    """
    n = len(base_labels)
    fig, axes = plt.subplots(len(models), 2, figsize=(13, 5 * len(models)), squeeze=False)
    for row, (name, model) in enumerate(models.items()):
        with torch.no_grad():
            S = model.similarity(lang_emb[:n], policies)
            proj = model.project_language(lang_emb)
        pick = torch.softmax(S / delta, dim=1).numpy()
        sns.heatmap(pd.DataFrame(pick, index=base_labels, columns=base_labels), annot=True,
                    fmt=".2f", vmin=0, vmax=1, cmap="rocket_r", ax=axes[row, 0], cbar=False)
        axes[row, 0].set_title(f"instruction -> policy, {name}")
        axes[row, 0].set_ylabel("instruction")
        axes[row, 0].set_xlabel("policy")
        sns.heatmap(pd.DataFrame(cosine_matrix(proj).numpy(), index=labels, columns=labels),
                    annot=True, fmt=".2f", vmin=-1, vmax=1, cmap="vlag", ax=axes[row, 1],
                    cbar=False)
        axes[row, 1].set_title(f"projected instruction cosine, {name}")
    fig.tight_layout()
    return fig
