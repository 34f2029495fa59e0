"""Sentences built from the statistics and the claim rules: the words a page prints, each
computed from a table (never typed), so a page says what its numbers say."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from . import libm
from .claims import NO_DIFFERENCE, Verdict, claim_reduction
from .stats import detectable_ratio, interval_text, paired_steps, ratio_table


def display_ratios(ratios: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """A :func:`ratio_table` as a table to read: plain headers, numbers rounded once,
    intervals as ``[lo, hi]`` text, ``by`` columns first."""
    out = pd.DataFrame({c.replace("_", " "): ratios[c] for c in by})
    out["trials"] = ratios["trials"]
    out["geo-mean ratio"] = ratios["geo-mean ratio"].round(2)
    out["95% CI (t on logs)"] = [interval_text(a, b) for a, b in zip(ratios.lo, ratios.hi)]
    out["95% CI (BCa)"] = [interval_text(a, b) for a, b in zip(ratios["bca lo"], ratios["bca hi"])]
    out["median ratio"] = ratios["median ratio"].round(2)
    out["ratio of means"] = ratios["ratio of means"].round(2)
    out["Wilcoxon p"] = ratios["wilcoxon p"].map(lambda p: "n/a" if not np.isfinite(p)
                                                 else f"{p:.3f}")
    out["faster in"] = [f"{f}/{n}" for f, n in zip(ratios.faster, ratios.trials)]
    out["censored pairs"] = ratios["censored pairs"]
    return out.reset_index(drop=True)


def headline(verdicts: pd.DataFrame, source: str) -> str:
    """Two sentences per reading, in Markdown, from :func:`verdict`'s table."""
    parts = []
    for _, d in verdicts.iterrows():
        change = 100 * (d["geo-mean ratio"] - 1)
        amount = f"{abs(change):.0f}% {'more' if change > 0 else 'fewer'}"
        parts.append(
            f"**Target {d['reading'].replace('_', ' ')}:** over {d['grid sizes']} grid "
            f"size{'s' if d['grid sizes'] != 1 else ''} x {d['trials per size']} trials, "
            f"Algorithm 2 needed {amount} training steps "
            f"than Algorithm 1 (geometric-mean ratio {d['geo-mean ratio']:.2f}, 95% CI "
            f"{d['95% CI']}). The paper's claim of about 50% fewer steps "
            f"**{_says(d['claim 1'])}**{_bound(d, 'claim 1')}; its claim that the gain grows "
            f"with grid size **{_says(d['claim 2'])}**{_bound(d, 'claim 2')}.")
    return "\n\n".join(parts) + f"\n\n(Computed from {source}.)"


def _bound(row, claim: str) -> str:
    """`` (Algorithm 2 is 45% slower; deciding bound: lo 1.31 > 1)``: which way, and what
    decided."""
    get = row.get if hasattr(row, "get") else (lambda k, d="": d)
    parts = [p for p in (get(f"{claim} effect", ""),
                         f"deciding bound: {get(f'{claim} bound', '')}"
                         if get(f"{claim} bound", "") else "") if p]
    return f" ({'; '.join(parts)})" if parts else ""


def _says(status: str) -> str:
    return {"holds": "holds", "not shown": "is not shown by these runs",
            "contradicted": "is contradicted", "not testable": "cannot be tested here"}[status]


def decomposition_text(table: pd.DataFrame, resolution: int) -> str:
    """One Markdown sentence per reading: how each method's steps relative to scratch change
    from the smallest to the largest grid (what moves the Algorithm 2 / Algorithm 1 ratio)."""
    lines = []
    for reading, sub in table.groupby("target_reading", sort=False):
        parts = {}
        for m in ("algorithm1", "algorithm2"):
            r = ratio_table(sub, m, "scratch", ["grid_size"], resolution, bca=False)
            parts[m] = r["geo-mean ratio"].to_numpy()
            sizes = r.grid_size.tolist()
        both = ratio_table(sub, "algorithm2", "algorithm1", ["grid_size"], resolution,
                           bca=False)
        lines.append(
            f"* **{reading.replace('_', ' ')}**: from {sizes[0]}x{sizes[0]} to "
            f"{sizes[-1]}x{sizes[-1]}, Algorithm 1 / scratch goes from {parts['algorithm1'][0]:.2f}"
            f" to {parts['algorithm1'][-1]:.2f} and Algorithm 2 / scratch from "
            f"{parts['algorithm2'][0]:.2f} to {parts['algorithm2'][-1]:.2f}, so Algorithm 2 / "
            f"Algorithm 1 goes from {both['geo-mean ratio'].iloc[0]:.2f} to "
            f"{both['geo-mean ratio'].iloc[-1]:.2f} (geometric means over trials).")
    return "\n".join(lines)


def verdict_reasons(verdicts: pd.DataFrame) -> str:
    """Markdown bullets: each reading's two claim labels with the intervals behind them."""
    return "\n".join(
        f"* **{row['reading'].replace('_', ' ')}**. Claim 1 (about 50% fewer) "
        f"{row['claim 1 (about 50% fewer)']}. Claim 2 (gain grows with size) "
        f"{row['claim 2 (gain grows with size)']}."
        for _, row in verdicts.iterrows())


def mechanism_text(corr: pd.DataFrame) -> str:
    """One Markdown bullet per feature, saying whether its correlation with the log ratio is
    distinguishable from zero at the 95% level."""
    lines = []
    for _, r in corr.iterrows():
        if not np.isfinite(r["Spearman rho"]):
            lines.append(f"* {r['feature']}: not measurable here (no variation).")
            continue
        shown = np.isfinite(r.lo) and (r.lo > 0 or r.hi < 0)
        lines.append(f"* {r['feature']}: Spearman rho {r['Spearman rho']:+.2f} "
                     f"{r['95% CI']} over {r['trials']} trials, p = {r['p']:.3f}: "
                     + ("a correlation is shown" if shown else "no correlation is shown")
                     + ".")
    return "\n".join(lines)


def shows(lo: float, hi: float) -> str:
    """What the interval ``[lo, hi]`` of a steps ratio shows: ``"faster"`` (it lies below
    1: the numerator needs fewer steps), ``"slower"`` (above 1), ``"no difference shown"``
    (it contains 1) or ``"no interval"``."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "no interval"
    if hi < NO_DIFFERENCE:
        return "faster"
    if lo > NO_DIFFERENCE:
        return "slower"
    return "no difference shown"


def ratio_phrase(row) -> str:
    """``"1.35 [1.18, 1.53]: slower"``: a ratio row's geometric mean, its interval and what
    the interval shows (:func:`shows`); ``row`` has ``geo-mean ratio``, ``lo`` and ``hi``."""
    return (f"{row['geo-mean ratio']:.2f} {interval_text(row['lo'], row['hi'])}: "
            f"{shows(row['lo'], row['hi'])}")


def comparison_text(compared: pd.DataFrame, labels: dict | None = None) -> str:
    """One Markdown bullet per row of :func:`comparison_table`: the geometric-mean ratio, its
    t-interval, and what the interval shows (faster, slower, or no difference)."""
    labels = labels or {}
    lines = []
    for _, r in compared.iterrows():
        num, den = r["comparison"].split(" / ")
        name = f"{labels.get(num, num)} / {labels.get(den, den)}"
        where = " ".join(str(r[c]).replace("_", " ") for c in compared.columns
                         if c in ("target_reading", "grid_size", "setting"))
        said = {"faster": f"{labels.get(num, num)} is faster",
                "slower": f"{labels.get(num, num)} is slower",
                "no difference shown": "no difference is shown"}.get(
            shows(r.lo, r.hi), "no interval")
        lines.append(f"* {name}{f' ({where})' if where else ''}: {r['geo-mean ratio']:.2f} "
                     f"{interval_text(r.lo, r.hi)}: {said}.")
    return "\n".join(lines)


def power_text(table: pd.DataFrame, resolution: int, num: str = "algorithm2",
               den: str = "algorithm1", power: float = 0.8) -> str:
    """Markdown bullets per reading: the reductions this design detects with ``power``, at
    one grid size and over all sizes, from the observed spread of the log ratios."""
    lines = []
    for reading, sub in table.groupby("target_reading", sort=False):
        logs, per_size = [], []
        for _, g in sub.groupby("grid_size"):
            a, b = paired_steps(g, num, den)
            x = libm.log((np.asarray(a, float) + resolution) / (np.asarray(b, float) + resolution))
            logs.append(x - x.mean())  # spread within a size
            per_size.append(x.size)
        resid = np.concatenate(logs)
        sd = float(np.sqrt((resid ** 2).sum() / max(1, resid.size - len(logs))))
        n1, n_all = int(np.median(per_size)), int(sum(per_size))
        if not (sd > 0 and n1 >= 2):
            lines.append(f"* **{reading.replace('_', ' ')}**: too few trials to say.")
            continue
        one, pooled = detectable_ratio(sd, n1, power=power), detectable_ratio(sd, n_all,
                                                                              power=power)
        lines.append(f"* **{reading.replace('_', ' ')}**: with {n1} trials per size, a "
                     f"geometric-mean ratio of {one:.2f} or below (or {1 / one:.2f} or above) at "
                     f"one grid size is detected with {power:.0%} power; over all {n_all} trials, "
                     f"{pooled:.2f} (or {1 / pooled:.2f}); so a 50% reduction at one size would be "
                     f"detected." if one >= 0.5 else
                     f"* **{reading.replace('_', ' ')}**: with {n1} trials per size only a ratio "
                     f"of {one:.2f} or below at one grid size is detected with {power:.0%} power "
                     f"(over all {n_all} trials: {pooled:.2f}); a 50% reduction at one size could "
                     f"be missed.")
    return "\n".join(lines)


def room_findings(overall: pd.DataFrame, premise: pd.DataFrame, rooms: Sequence[str]) -> str:
    """One Markdown item per room of the Minigrid chapter: the premise (whose most similar
    object shares the target's colour or type, by the trained policies and by language) and
    the method ratios with what each interval shows.

    Args:
        overall: :func:`cliprl_helpers.analysis.ratios.ablation_summary` with the room as
            ``setting`` (comparisons ``algorithm2 / algorithm1``, ``algorithm2 /
            algorithm2_shuffled``, ``language_top1 / algorithm1``, ``uniform / algorithm1``).
        premise: :func:`cliprl_helpers.core.premise.premise_summary` rows with a ``room``
            column.
        rooms: the room names, in the order to report them.
    """
    o = overall.set_index(["setting", "comparison"])
    p = premise.set_index(["room", "ranked by"])
    items = []
    for name in rooms:
        policy, words = p.loc[(name, "policy agreement")], p.loc[(name, "language cosine")]
        a2 = o.loc[(name, "algorithm2 / algorithm1")]
        items.append(
            f"* **{name}.** Premise: the trained policies' most similar object shares the "
            f"target's colour for {policy['top pick same colour']:.0%} of the nine targets, "
            f"the sentence encoder's for {words['top pick same colour']:.0%} (it shares the "
            f"type for {words['top pick same type']:.0%}). Algorithm 2 / Algorithm 1 "
            f"{ratio_phrase(a2)} (the paper's claim of about 50% fewer steps: "
            f"{claim_reduction(a2['lo'], a2['hi']).label}); Algorithm 2 / its shuffled-pair "
            f"control {ratio_phrase(o.loc[(name, 'algorithm2 / algorithm2_shuffled')])}; "
            f"language top-1 / Algorithm 1 "
            f"{ratio_phrase(o.loc[(name, 'language_top1 / algorithm1')])}; uniform / "
            f"Algorithm 1 {ratio_phrase(o.loc[(name, 'uniform / algorithm1')])}.")
    return "\n".join(items)


def metrics_text(pooled: pd.DataFrame, num_label: str = "Algorithm 2",
                 den_label: str = "Algorithm 1") -> str:
    """One Markdown item per reading: the answer of the paper's metric (time to 1.0, the
    first of :data:`~cliprl_helpers.analysis.transfer_metrics.METRICS`) and every metric
    that gives another one, with its ratio and interval; metrics equal in every trial (the
    final values, when every run converged) are named as such, not as another answer.

    Args:
        pooled: :func:`~cliprl_helpers.analysis.transfer_metrics.metric_ratios` by
            ``target_reading`` (every grid size pooled).
    """
    items = []
    for reading, sub in pooled.groupby("target_reading", sort=False):
        first, rest = sub.iloc[0], sub.iloc[1:]

        def said(row) -> str:
            return (f"{row.metric}: {row.answer} ({row['geo-mean ratio']:.2f} "
                    f"{row['95% CI']}, {row.better} is better)")

        other = rest[(rest.answer != first.answer) & ~rest.answer.isin(["not measured",
                                                                         "equal"])]
        equal = rest.metric[rest.answer == "equal"].tolist()
        relation = {"better": "better than", "worse": "worse than",
                    "not shown": "not shown to differ from"}.get(first.answer, first.answer)
        text = (f"* *{reading.replace('_', ' ')}*: by the paper's metric {num_label} is "
                f"**{relation}** {den_label} ({said(first)}). ")
        if other.empty:
            text += "Every other metric gives the same answer."
        else:
            verb = "gives" if len(other) == 1 else "give"
            text += (f"**{len(other)} of {len(rest)} other metrics {verb} another answer**: "
                     + "; ".join(said(r) for _, r in other.iterrows()) + ".")
        if equal:
            text += f" Equal for both in every trial: {', '.join(equal)}."
        items.append(text)
    return "\n".join(items)


def growth_text(verdicts: Mapping[str, Verdict], trials: int, sizes: Sequence[int],
                min_size: int) -> str:
    """The claim-2 sentence of the size ladder, in Markdown: per reading, the plan's label,
    the direction and size of the effect, which method moved, and the deciding bound.

    Args:
        verdicts: reading -> :func:`cliprl_helpers.analysis.ladder.growth_verdict`'s verdict.
        trials: trials per grid size; sizes: every grid size of the ladder; min_size: the
            smallest size of the primary test.
    """
    sizes = sorted(int(n) for n in sizes)
    said = "; ".join(
        f"*{reading.replace('_', ' ')}*: **{_says(v.status)}**"
        + (f" ({v.effect}; {v.reason}, deciding: {v.bound})" if v.effect else
           f" ({v.reason})")
        for reading, v in verdicts.items())
    return (f"Does the gain grow with the grid? On the size ladder ({sizes[0]}x{sizes[0]} to "
            f"{sizes[-1]}x{sizes[-1]}, {trials} trials per size), the paper's second claim, "
            f"by the rule planned before the runs (the slope of the log ratio Algorithm 2 / "
            f"Algorithm 1 on log grid size over sizes {min_size} and up, 95% BCa interval "
            f"over trials): {said}.")
