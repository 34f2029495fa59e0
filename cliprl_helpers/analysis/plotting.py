"""Figures of results shared by the chapters: one seaborn theme, colour-blind-safe colours
(pictures of the grid itself are in :mod:`cliprl_helpers.analysis.grid_figures`).

Every function takes an optional matplotlib ``Axes`` and returns it, so a notebook can
compose panels; axes carry labels with units.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from ..core.config import METHODS
from .stats import log_t_interval, ratio_table

#: The Okabe-Ito palette, safe for the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000"]


def set_theme() -> None:
    """Apply the book's seaborn theme (call once per notebook)."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE,
                  rc={"figure.dpi": 100, "savefig.dpi": 100, "axes.titleweight": "bold"})


def legend_outside(ax, **kwargs):
    """Put the legend of ``ax`` to its right, outside the plot."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, **kwargs)
    return ax


METHOD_ORDER = list(METHODS)
METHOD_LABELS = {"scratch": "scratch", "algorithm1": "Algorithm 1 (language)",
                 "algorithm2": "Algorithm 2 (CLIP)", "oracle": "oracle (nearest goal)",
                 "uniform": "uniform average", "language_top1": "top-1 by language",
                 "algorithm2_shuffled": "Algorithm 2, shuffled pairs"}


def plot_steps(table, x: str = "method", hue: str | None = None, ax=None,
               title: str | None = None, order=None):
    """Steps to converge: one dot per run, the mean with a 95% bootstrap interval on top.

    Censored runs (no convergence within the budget) are drawn as hollow triangles at the
    budget, so they are visible and counted rather than dropped.
    """

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    df = pd.DataFrame(table).copy()
    if order is None and x == "method":
        order = [m for m in METHOD_ORDER if m in set(df.method)]
    kw = dict(data=df, x=x, y="steps_to_converge", hue=hue, order=order, ax=ax)
    sns.stripplot(**kw, dodge=hue is not None, alpha=0.45, size=4, legend=False,
                  palette=PALETTE if hue else None, color=None if hue else PALETTE[4])
    sns.pointplot(**kw, dodge=0.4 if hue else False, errorbar=("ci", 95), linestyle="none",
                  markers="D", capsize=0.15, palette=PALETTE if hue else None,
                  color=None if hue else "black", err_kws={"linewidth": 1.5})
    cens = df[df.censored.astype(bool)]
    if len(cens):
        ax.scatter([], [], marker="^", facecolor="none", edgecolor="black",
                   label=f"censored at budget ({len(cens)})")
        cats = order or list(dict.fromkeys(df[x]))
        pos = {c: i for i, c in enumerate(cats)}
        ax.scatter([pos[v] for v in cens[x]], cens.steps_to_converge, marker="^",
                   facecolor="none", edgecolor="black", s=60, zorder=4)
    ax.set_ylabel("env steps to converge (per agent)")
    if x == "method":
        ax.set_xticks(range(len(order)))
        ax.set_xticklabels([METHOD_LABELS.get(m, m) for m in order], rotation=15)
        ax.set_xlabel("")
    if title:
        ax.set_title(title)
    if hue or len(cens):
        legend_outside(ax)
    return ax


def ablation_figure(summary, title: str, ax=None):
    """Ratios of an ablation: one row per setting, one coloured point per comparison.

    Args:
        summary: :func:`cliprl_helpers.analysis.ratios.ablation_summary`'s frame (columns
            ``setting``, ``comparison``, ``geo-mean ratio``, ``lo``, ``hi``).
        title: the axes title.

    Returns the axes (log x axis; 1 means "as fast").
    """

    settings = list(dict.fromkeys(summary.setting))
    comps = list(dict.fromkeys(summary.comparison))
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.5 + 0.8 * len(settings)))
    for k, comp in enumerate(comps):
        sub = summary[summary.comparison == comp].set_index("setting").loc[settings]
        gm = sub["geo-mean ratio"]
        y = np.arange(len(settings)) + (k - (len(comps) - 1) / 2) * 0.22
        ax.errorbar(gm, y, xerr=[gm - sub.lo, sub.hi - gm], fmt="o", capsize=3,
                    color=PALETTE[k], label=comp)
    ax.set_yticks(range(len(settings)))
    ax.set_yticklabels(settings)
    ax.axvline(1, color="0.4")
    ratio_axis(ax, "x")
    ax.set_xlabel("steps ratio (geo-mean over targets x trials, 95% CI); < 1: first is faster")
    ax.set_title(title)
    legend_outside(ax)
    return ax


#: The ratios of the decomposition figure: (numerator, denominator, label).
DECOMPOSITION = (("algorithm1", "scratch", "Algorithm 1 / scratch"),
                 ("algorithm2", "scratch", "Algorithm 2 / scratch"),
                 ("algorithm2", "algorithm1", "Algorithm 2 / Algorithm 1"))


def decomposition_figure(table, resolution: int, fits: Mapping | None = None):
    """Per target reading, per grid size: each method's steps relative to scratch, and the
    Algorithm 2 / Algorithm 1 ratio they make (geometric means over trials, 95% t-intervals
    on the logs). Shows *which* side moves when the ratio moves.

    Args:
        fits: optional ``{reading: {label: trend}}`` (labels of :data:`DECOMPOSITION`,
            trends of :func:`cliprl_helpers.analysis.ladder.trend`): each fitted line
            ``ratio = fitted_first x (n / n0) ^ slope`` is drawn dotted over its sizes.
    Returns the figure.
    """

    readings = list(dict.fromkeys(table.target_reading))
    fig, axes = plt.subplots(len(readings), 1, figsize=(9, 3.8 * len(readings)),
                             squeeze=False, sharex=True)
    sizes = sorted(table.grid_size.unique())
    for ax, reading in zip(axes[:, 0], readings):
        sub = table[table.target_reading == reading]
        for k, (num, den, label) in enumerate(DECOMPOSITION):
            r = ratio_table(sub, num, den, ["grid_size"], resolution, bca=False)
            x = np.arange(len(sizes)) + (k - 1) * 0.12
            gm = r["geo-mean ratio"].to_numpy()
            ax.errorbar(x, gm, yerr=[gm - r.lo.to_numpy(), r.hi.to_numpy() - gm], fmt="o",
                        capsize=3, color=PALETTE[[0, 2, 5][k]], label=label,
                        linestyle="--" if k < 2 else "-", linewidth=1.2 if k < 2 else 2)
            fit = (fits or {}).get(reading, {}).get(label)
            if fit is not None:
                n = np.asarray(fit["sizes"], float)
                ax.plot([sizes.index(v) for v in fit["sizes"]],
                        fit["fitted_first"] * (n / n[0]) ** fit["slope"], ":",
                        color=PALETTE[[0, 2, 5][k]], linewidth=2.2,
                        label=f"{label}: fitted, slope {fit['slope']:+.2f}")
        ax.axhline(1.0, color="0.3", linewidth=1)
        ax.axhline(0.5, color="0.6", linewidth=1, linestyle=":")
        ratio_axis(ax)
        ax.set_ylabel("steps ratio\n(geo-mean, 95% CI, log)")
        ax.set_title(f"target reading: {reading.replace('_', ' ')}")
        legend_outside(ax)
    _grid_size_axis(axes[-1, 0], sizes)
    fig.tight_layout()
    return fig


def answer_figure(per_size, fits: Mapping | None = None):
    """The first page's answer: Algorithm 2 / Algorithm 1 per grid size, geometric mean with
    its 95% interval, one line per target reading, with the paper's claim (0.5) and no
    difference (1) drawn as lines.

    Args:
        per_size: :func:`cliprl_helpers.analysis.stats.ratio_table` by ``target_reading`` and
            ``grid_size`` (columns ``geo-mean ratio``, ``lo``, ``hi``).
        fits: optional ``{reading: trend}`` (:func:`cliprl_helpers.analysis.ladder.trend`):
            each reading's fitted ``ratio = fitted_first x (n / n0) ^ slope`` drawn dotted
            over the sizes it was fitted on.
    Returns the figure.
    """
    readings = list(dict.fromkeys(per_size.target_reading))
    sizes = sorted(per_size.grid_size.unique())
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    for k, reading in enumerate(readings):
        sub = per_size[per_size.target_reading == reading].set_index("grid_size").loc[sizes]
        x = np.arange(len(sizes)) + (k - (len(readings) - 1) / 2) * 0.12
        gm = sub["geo-mean ratio"].to_numpy()
        ax.errorbar(x, gm, yerr=[gm - sub.lo.to_numpy(), sub.hi.to_numpy() - gm], fmt="o-",
                    capsize=4, color=PALETTE[[0, 5, 2, 3][k % 4]], linewidth=2,
                    label=f"target {reading.replace('_', ' ')}")
        fit = (fits or {}).get(reading)
        if fit is not None:
            n = np.asarray(fit["sizes"], float)
            ax.plot([sizes.index(v) for v in fit["sizes"]],
                    fit["fitted_first"] * (n / n[0]) ** fit["slope"], ":", linewidth=2.2,
                    color=PALETTE[[0, 5, 2, 3][k % 4]],
                    label=f"{reading.replace('_', ' ')}: fitted, slope {fit['slope']:+.2f}")
    ax.axhline(1.0, color="0.3", linewidth=1.2, label="no difference (1)")
    ax.axhline(0.5, color=PALETTE[2], linestyle="--", linewidth=1.2,
               label="the paper's claim: 50% fewer steps (0.5)")
    ratio_limits(ax, per_size[["lo", "hi"]].to_numpy(), 0.4, 2.2)
    ratio_axis(ax)
    _grid_size_axis(ax, sizes)
    ax.set_ylabel("steps, Algorithm 2 / Algorithm 1\n(geo-mean, 95% CI; < 1: faster)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False,
              fontsize=9)
    fig.tight_layout()
    return fig


def figure2(table):
    """The paper's Figure 2 from a sweep table: steps to converge on the target against grid
    size, one line per method, one panel per target reading (stacked, so each is legible at
    page width).

    Points are **geometric means** over trials with 95% t-intervals on the log steps (one
    slow run cannot dominate them as it dominates an arithmetic mean); faint dots are the
    trials; hollow triangles mark censored runs (counted at the budget).

    Returns the figure.
    """

    readings = list(dict.fromkeys(table.target_reading))
    sizes = sorted(table.grid_size.unique())
    order = [m for m in METHOD_ORDER if m in set(table.method)]
    fig, axes = plt.subplots(len(readings), 1, figsize=(9, 4.2 * len(readings)), squeeze=False,
                             sharex=True)
    for ax, reading in zip(axes[:, 0], readings):
        sub = table[table.target_reading == reading]
        for k, m in enumerate(order):
            x0 = np.arange(len(sizes)) + (k - (len(order) - 1) / 2) * 0.14
            gm, lo, hi = [], [], []
            for j, n in enumerate(sizes):
                v = sub[(sub.method == m) & (sub.grid_size == n)].steps_to_converge \
                    .clip(lower=1).to_numpy(dtype=float)
                ax.scatter(np.full(v.size, x0[j]), v, s=9, alpha=0.25, color=PALETTE[k],
                           linewidths=0)
                g, low, high = log_t_interval(v)  # one trial: no interval, the point alone
                gm.append(g)
                lo.append(g if np.isnan(low) else low)
                hi.append(g if np.isnan(high) else high)
            gm, lo, hi = map(np.asarray, (gm, lo, hi))
            ax.errorbar(x0, gm, yerr=[gm - lo, hi - gm], fmt="o-", capsize=3, color=PALETTE[k],
                        label=METHOD_LABELS.get(m, m), linewidth=1.6)
        cens = sub[sub.censored.astype(bool)]
        if len(cens):
            pos = {n: i for i, n in enumerate(sizes)}
            ax.scatter([pos[n] for n in cens.grid_size], cens.steps_to_converge, marker="^",
                       facecolor="none", edgecolor="black", s=60, zorder=5,
                       label=f"censored ({len(cens)})")
        ax.set_yscale("log")
        ax.set_ylabel("env steps to converge\n(geo-mean, 95% CI, log)")
        ax.set_title(f"target reading: {reading.replace('_', ' ')}")
        legend_outside(ax)
    _grid_size_axis(axes[-1, 0], sizes)
    fig.tight_layout()
    return fig


def ratio_limits(ax, values, low: float, high: float, margin: float = 1.15) -> None:
    """Y limits for a log ratio axis from the plotted ``values`` (intervals included): at
    least ``low`` to ``high``, and every finite positive value with a margin (a factor).
    Matplotlib's linear autoscale can put the lower limit below 0 when values spread widely,
    which a log axis cannot show."""
    v = np.asarray(values, float).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    lo = min(low, v.min() / margin) if v.size else low
    hi = max(high, v.max() * margin) if v.size else high
    ax.set_ylim(lo, hi)


def ratio_axis(ax, axis: str = "y") -> None:
    """A log axis for ratios labelled 0.25, 0.5, 1, 2, ... (not 10^x); over a range of more
    than 8 doublings, every second, third, ... power of 2, so at most 8 labels; over a range
    with fewer than two powers of 2, 0.8, 0.9, 1, 1.1, 1.25, ..."""

    getattr(ax, f"set_{axis}scale")("log")
    a = getattr(ax, f"{axis}axis")
    lo, hi = getattr(ax, f"get_{axis}lim")()
    powers = [k for k in range(-40, 41) if lo <= 2.0 ** k <= hi]
    step = max(1, math.ceil(len(powers) / 8))
    ticks = [2.0 ** k for k in powers if k % step == 0]
    if len(ticks) < 2:  # a narrow range: ratios near 1 labelled by tenths
        ticks = [v for v in (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75) if lo <= v <= hi]
        ticks = ticks or [1.0]
    a.set_major_locator(FixedLocator(ticks))
    a.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    a.set_minor_locator(NullLocator())


def mechanism_figure(mech, features: dict):
    """Per trial: the log ratio Algorithm 2 / Algorithm 1 against each feature of Algorithm
    2's initialisation (one panel per feature; colour = target reading). Returns the figure."""

    readings = list(dict.fromkeys(mech.target_reading))
    rows = math.ceil(len(features) / 2)
    fig, grid = plt.subplots(rows, 2, figsize=(10, 4.0 * rows), sharey=True, squeeze=False)
    axes = grid.reshape(1, -1)[:, :len(features)]
    for ax in grid.flat[len(features):]:
        ax.set_visible(False)
    for ax, (col, label) in zip(axes[0], features.items()):
        for k, r in enumerate(readings):
            sub = mech[mech.target_reading == r]
            ax.scatter(sub[col], np.exp(sub.log_ratio), s=22, alpha=0.75, color=PALETTE[k],
                       label=r.replace("_", " "), edgecolor="white", linewidth=0.4)
        ax.axhline(1.0, color="0.4", linewidth=1)
        ax.set_xlabel(label)
    for ax in axes[0]:
        ratio_axis(ax)
    for ax in grid[:, 0]:
        ax.set_ylabel("steps ratio Alg 2 / Alg 1 (log)")
    legend_outside(axes[0][1] if len(features) > 1 else axes[0][0], title="reading")
    fig.tight_layout()
    return fig


def _grid_size_axis(ax, sizes) -> None:
    """Categorical x axis of grid sizes, labelled ``n x n``."""
    ax.set_xticks(range(len(sizes)))
    ax.set_xticklabels([f"{n}x{n}" for n in sizes])
    ax.set_xlabel("grid size")


#: Colour of each claim-1 status on the specification curve.
CLAIM_COLOURS = {"holds": PALETTE[2], "not shown": PALETTE[1], "contradicted": PALETTE[5],
                 "not testable": "0.5"}


def spec_curve_figure(curve, labels: Mapping[str, str]):
    """The specification curve of chapter 9, one block per target reading (stacked).

    In each block, top: the Algorithm 2 / Algorithm 1 ratio with its 95% interval for every
    specification, sorted, coloured by the verdict on claim 1 (the paper's 0.5 dashed);
    bottom: which choice each specification changes, and to what.

    Args:
        curve: :func:`cliprl_helpers.analysis.spec_curve.spec_curve`'s frame.
        labels: choice parameter -> readable name
            (:data:`cliprl_helpers.analysis.spec_curve.LABELS`).
    """

    readings = list(dict.fromkeys(curve.reading))
    rows = ["", *labels]
    names = ["book's defaults", *labels.values()]
    fig, axes = plt.subplots(2 * len(readings), 1, figsize=(10, 7.6 * len(readings)),
                             gridspec_kw={"height_ratios": [3, 2.6] * len(readings)},
                             squeeze=False)
    for k, reading in enumerate(readings):
        sub = curve[curve.reading == reading].reset_index(drop=True)
        x = np.arange(len(sub))
        top, bottom = axes[2 * k, 0], axes[2 * k + 1, 0]
        for status, colour in CLAIM_COLOURS.items():
            sel = (sub["claim 1"] == status).to_numpy()
            if sel.any():
                gm = sub["geo-mean ratio"][sel]
                top.errorbar(x[sel], gm, yerr=[gm - sub.lo[sel], sub.hi[sel] - gm], fmt="o",
                             capsize=3, color=colour, label=f"claim 1 {status}")
        top.axhline(1, color="0.4")
        top.axhline(0.5, color=PALETTE[2], linestyle="--", linewidth=1, label="the paper's 0.5")
        ratio_axis(top, "y")
        top.set_xticks(x)
        top.set_xticklabels([])
        top.set_xlim(-0.6, len(sub) - 0.4)
        top.set_title(f"{reading.replace('_', ' ')} target")
        top.set_ylabel("Algorithm 2 / Algorithm 1\n(geo-mean, 95% CI; < 1: faster)")
        top.legend(loc="upper left", frameon=True, fontsize=9)
        for i, (choice, spec) in enumerate(zip(sub.choice, sub.spec)):
            y = rows.index(choice)
            bottom.scatter([i], [y], color="black", s=25, zorder=3)
            value = "" if not choice else spec.split(" = ", 1)[-1]
            above = i % 2 == 0  # alternate, so neighbours in one row do not overlap
            bottom.annotate(value, (i, y), xytext=(0, 5 if above else -5),
                            textcoords="offset points", ha="center",
                            va="bottom" if above else "top", fontsize=8)
        bottom.set_yticks(range(len(rows)))
        bottom.set_yticklabels(names)
        bottom.set_ylim(len(rows) - 0.2, -0.9)
        bottom.set_xticks(x)
        bottom.set_xticklabels([])
        bottom.set_xlim(-0.6, len(sub) - 0.4)
        bottom.set_xlabel("specifications, sorted by ratio")
        bottom.grid(axis="x", visible=False)
    fig.tight_layout()
    return fig


def metrics_figure(ratios, num_label: str = "Algorithm 2", den_label: str = "Algorithm 1"):
    """The standard transfer metrics side by side: one panel per metric, the ratio
    ``num / den`` per grid size (geometric mean, 95% t-interval), one line per target
    reading, no difference (1) drawn; each panel's title says which side of 1 is better.

    Args:
        ratios: :func:`cliprl_helpers.analysis.transfer_metrics.metric_ratios` by
            ``target_reading`` and ``grid_size``.
    Returns the figure.
    """
    metrics = list(dict.fromkeys(ratios.metric))
    readings = list(dict.fromkeys(ratios.target_reading))
    sizes = sorted(ratios.grid_size.unique())
    cols = 3
    rows = math.ceil(len(metrics) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(12, 3.1 * rows), squeeze=False)
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    for ax, metric in zip(axes.flat, metrics):
        sub = ratios[ratios.metric == metric]
        for k, reading in enumerate(readings):
            r = sub[sub.target_reading == reading].set_index("grid_size").reindex(sizes)
            x = np.arange(len(sizes)) + (k - (len(readings) - 1) / 2) * 0.15
            gm = r["geo-mean ratio"].to_numpy(float)
            err = [np.nan_to_num(gm - r.lo.to_numpy(float)),
                   np.nan_to_num(r.hi.to_numpy(float) - gm)]
            ax.errorbar(x, gm, yerr=err, fmt="o-", capsize=3, markersize=4,
                        color=PALETTE[[0, 5][k % 2]], label=reading.replace("_", " "))
        ax.axhline(1.0, color="0.3", linewidth=1)
        ratio_limits(ax, sub[["geo-mean ratio", "lo", "hi"]].to_numpy(), 0.8, 1.25)
        ratio_axis(ax)
        better = sub.better.iloc[0]
        ax.set_title(f"{metric}\n({better} is better for {num_label})", fontsize=10)
        _grid_size_axis(ax, sizes)
        ax.set_xlabel("")
        if len(sizes) > 4:  # six sizes' labels do not fit side by side in a panel
            ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"{num_label} / {den_label}")
    axes.flat[0].legend(title="target reading", fontsize=8, title_fontsize=8)
    fig.tight_layout()
    return fig
