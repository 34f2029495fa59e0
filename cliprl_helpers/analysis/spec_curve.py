"""How robust is the verdict? The specification curve of one-choice-at-a-time variations.

The paper leaves many choices open and the book had to make them. :data:`CHOICES` lists the
alternatives the robustness study tries, each varied alone from the book's defaults
(:func:`defaults`, taken from the package's own config classes). The functions below turn
the study's table (one row per specification, grid size, reading, trial and method) into a
specification curve: the Algorithm 2 / Algorithm 1 ratio with its interval and the paper's
two claim tests (:func:`cliprl_helpers.analysis.claims.verdict`) for every specification and
target reading, and the sentences that summarise it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..core.alignment import AlignConfig
from ..core.config import ALIGN_PARAMETERS, ExperimentConfig
from ..core.dqn import DQNConfig
from . import libm
from .claims import verdict
from .stats import pooled_ratio

#: The alternatives tried for each choice (the default is run once, as its own spec).
CHOICES = {
    "eps_start": [0.5, 0.2],
    "threshold": [0.9, 0.95],
    "lr_factor": [0.5, 2.0],
    "align_dim": [4, 64],
    "align_delta": [0.03, 1.0],
    "align_epochs": [100, 1000],
    "align_bias": [False],
    "align_similarity": ["cosine"],
    "step3": ["policy"],
    "weighting": ["softmax", "positive", "top1"],
    "init_mode": ["independent"],
}


#: What each choice means, for tables and figures.
LABELS = {
    "eps_start": "fine-tuning epsilon start",
    "threshold": "convergence threshold",
    "lr_factor": "fine-tuning learning rate x",
    "align_dim": "alignment size",
    "align_delta": "alignment temperature",
    "align_epochs": "alignment steps",
    "align_bias": "projection bias",
    "align_similarity": "alignment similarity",
    "step3": "Algorithm 2 step 3 against",
    "weighting": "weighting",
    "init_mode": "base initialisation",
    "numerics": "kernels",
}


#: The pseudo-choice of the native-kernels specification: no notebook parameter changes, the
#: numerics do (:func:`with_native`).
NUMERICS = "numerics"


def defaults() -> dict:
    """The book's value of every choice in :data:`CHOICES` (from the config classes)."""
    cfg, dqn, align = ExperimentConfig(), DQNConfig(), AlignConfig()
    out = {"eps_start": dqn.eps_start, "threshold": dqn.threshold, "lr_factor": 1.0,
           "step3": cfg.step3, "weighting": cfg.weighting, "init_mode": cfg.init_mode}
    out.update({k: getattr(align, f) for k, f in ALIGN_PARAMETERS.items()})
    return {k: out[k] for k in CHOICES}


def choices_table() -> pd.DataFrame:
    """The study's design as a table: choice, the book's default, the alternatives tried."""
    d = defaults()
    return pd.DataFrame([{"choice": LABELS[k], "parameter": k, "book's default": _text(d[k]),
                          "alternatives": ", ".join(_text(v) for v in vs)}
                         for k, vs in CHOICES.items()])


def _text(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _same(a, b) -> bool:
    if isinstance(b, bool) or isinstance(a, bool):
        return str(a).lower() == str(b).lower()
    try:
        return math.isclose(float(a), float(b))
    except (TypeError, ValueError):
        return str(a) == str(b)


def with_native(study: pd.DataFrame, native: pd.DataFrame) -> pd.DataFrame:
    """The study's table with the native-kernels specification added: ``native`` holds the
    book's defaults computed in native numerics (published apart, :mod:`published`). Adds a
    ``numerics`` column (``"reference"`` or ``"native"``); the native rows get the defaults'
    ``param_*`` values."""
    params = [c for c in study.columns if c.startswith("param_")]
    label = label_specs(study)
    defaults_rows = label[label.choice == ""]
    if defaults_rows.empty:
        raise ValueError("the study has no runs of the book's defaults to pair native "
                         "kernels with")
    fill = {c: defaults_rows[c].iloc[0] for c in params}
    native = native.drop(columns=[c for c in params if c in native]).assign(**fill)
    return pd.concat([study.assign(numerics="reference"), native.assign(numerics="native")],
                     ignore_index=True)


def label_specs(summary: pd.DataFrame) -> pd.DataFrame:
    """``summary`` with columns ``choice`` (``""`` for the defaults), ``value`` and
    ``spec`` (a readable label); a row varying more than one choice raises ``ValueError``
    (the study varies one at a time). Rows computed in native numerics (a ``numerics``
    column, :func:`with_native`) are the choice ``"numerics"``."""
    d = defaults()
    names = [k for k in CHOICES if f"param_{k}" in summary.columns]
    native = (summary["numerics"] != "reference").to_numpy() if "numerics" in summary else \
        [False] * len(summary)
    choice, value = [], []
    for row, other in zip(summary[[f"param_{k}" for k in names]].itertuples(index=False),
                          native):
        changed = [(k, v) for k, v in zip(names, row) if not _same(v, d[k])]
        if other:
            changed.append((NUMERICS, "native"))
        if len(changed) > 1:
            raise ValueError(f"a run varies {len(changed)} choices at once ({changed}); "
                             f"the study varies one at a time")
        k, v = changed[0] if changed else ("", "")
        choice.append(k)
        value.append(v)
    out = summary.assign(choice=choice, value=value)
    out["spec"] = [("book's defaults" if not k else "native kernels" if k == NUMERICS else
                    f"{LABELS[k]} = {_text(_typed(v, d[k]))}")
                   for k, v in zip(out.choice, out.value)]
    return out


def _typed(v, default):
    if isinstance(default, bool):
        return str(v).lower() == "true"
    if isinstance(default, (int, float)):
        return float(v)
    return v


def spec_curve(summary: pd.DataFrame, resolution: int) -> pd.DataFrame:
    """One row per (specification, target reading): the Algorithm 2 / Algorithm 1 ratio
    with its 95% t-interval and the two claim tests of :func:`claims.verdict`, sorted by
    ratio within each reading."""

    labelled = label_specs(summary)
    rows = []
    for (spec, choice), sub in labelled.groupby(["spec", "choice"], sort=False):
        v = verdict(sub, resolution).assign(spec=spec, choice=choice)
        for num, col in (("algorithm1", "Alg 1 / scratch"), ("algorithm2", "Alg 2 / scratch")):
            v[col] = [round(pooled_ratio(g, num, "scratch", resolution)["geo-mean ratio"], 2)
                      if {num, "scratch"} <= set(g.method) else float("nan")
                      for _, g in sub.groupby("target_reading", sort=False)]
        rows.append(v)
    curve = pd.concat(rows, ignore_index=True)
    curve = curve.sort_values(["reading", "geo-mean ratio"], kind="stable")
    return curve[["reading", "spec", "choice", "geo-mean ratio", "lo", "hi", "95% CI",
                  "claim 1", "claim 2", "slope", "slope lo", "slope hi", "Alg 1 / scratch",
                  "Alg 2 / scratch", "grid sizes", "trials per size", "claim 1 label",
                  "claim 2 label"]].reset_index(drop=True)


STATUSES = ("holds", "not shown", "contradicted", "not testable")


def claim_counts(curve: pd.DataFrame) -> pd.DataFrame:
    """How many specifications give each claim each status, per reading."""
    rows = []
    for reading, sub in curve.groupby("reading", sort=False):
        for claim in ("claim 1", "claim 2"):
            counts = sub[claim].value_counts()
            rows.append({"reading": reading, "claim": claim, "specifications": len(sub),
                         **{s: int(counts.get(s, 0)) for s in STATUSES}})
    return pd.DataFrame(rows)


def findings_text(curve: pd.DataFrame) -> str:
    """The study's findings as Markdown sentences, computed from the curve."""
    lines = []
    for reading, sub in curve.groupby("reading", sort=False):
        best, worst = sub.iloc[0], sub.iloc[-1]
        default = sub[sub.choice == ""]
        n = len(sub)
        faster = int((sub.hi < 1).sum())
        slower = int((sub.lo > 1).sum())
        holds1 = [f"{r.spec} ({r['geo-mean ratio']:.2f} {r['95% CI']})"
                  for _, r in sub[sub["claim 1"] == "holds"].iterrows()]
        holds2 = [f"{r.spec} (slope of the log ratio on log size {r.slope:+.2f} "
                  f"[{r['slope lo']:+.2f}, {r['slope hi']:+.2f}], ratio "
                  f"{r['geo-mean ratio']:.2f} {r['95% CI']})"
                  for _, r in sub[sub["claim 2"] == "holds"].iterrows()]
        parts = [f"**{reading.replace('_', ' ')}**: over {n} specifications"]
        if len(default):
            d = default.iloc[0]
            parts.append(f"(the book's defaults give {d['geo-mean ratio']:.2f} {d['95% CI']})")
        lines.append(
            " ".join(parts) + f", Algorithm 2 is shown faster than Algorithm 1 in {faster} and "
            f"slower in {slower}. Best: {best.spec}, ratio {best['geo-mean ratio']:.2f} "
            f"{best['95% CI']}; worst: {worst.spec}, {worst['geo-mean ratio']:.2f} "
            f"{worst['95% CI']}. Claim 1 (about 50% fewer steps) holds under "
            + (f"{len(holds1)}: {', '.join(holds1)}" if holds1 else "none")
            + "; claim 2 (gain grows with size) holds under "
            + (f"{len(holds2)}: {', '.join(holds2)}." if holds2 else "none.")
            + (" " + moved_text(sub) if len(default) and sub["Alg 1 / scratch"].notna().all()
               and sub["Alg 2 / scratch"].notna().all() else ""))
    return "\n\n".join(lines)


#: A specification "moves" the ratio when it changes it by more than this factor either way.
MOVED = 1.25


def moved_by(sub: pd.DataFrame) -> pd.DataFrame:
    """For one reading's specifications: which method carried each change of the ratio
    from the defaults. ``via`` is ``"Algorithm 1"`` or ``"Algorithm 2"``, whichever's steps
    relative to scratch changed more (on the log scale); rows whose ratio changed by less
    than :data:`MOVED` either way are left out."""

    d = sub[sub.choice == ""].iloc[0]
    rest = sub[sub.choice != ""]
    change = libm.log(rest["geo-mean ratio"] / d["geo-mean ratio"])
    a1 = libm.log(rest["Alg 1 / scratch"] / d["Alg 1 / scratch"]).abs()
    a2 = libm.log(rest["Alg 2 / scratch"] / d["Alg 2 / scratch"]).abs()
    out = rest.assign(change=libm.exp(change), via=np.where(a1 > a2, "Algorithm 1", "Algorithm 2"))
    return out[change.abs() > libm.log(MOVED)]


def moved_text(sub: pd.DataFrame) -> str:
    """One sentence: the specifications that move the ratio, grouped by the method that
    carried the change (the table's Alg 1 / scratch and Alg 2 / scratch columns)."""
    moved = moved_by(sub)
    if moved.empty:
        return (f"No specification changes the ratio by more than a factor {MOVED:g} from the "
                f"defaults.")
    groups = []
    for via, g in moved.groupby("via", sort=True):
        items = ", ".join(f"{r.spec} (x{r.change:.2f})" for _, r in g.iterrows())
        groups.append(f"through {via}: {items}")
    return (f"Specifications that change the ratio by more than a factor {MOVED:g} from the "
            f"defaults, by the method whose steps relative to scratch changed more: "
            + "; ".join(groups) + ".")


def _reading(reading: str) -> str:
    return reading.replace("_", "-") if reading == "self_consistent" else \
        reading.replace("_", " ")


def compact_table(curve: pd.DataFrame) -> pd.DataFrame:
    """The study at a glance, one row per specification (the defaults first, then by the
    first reading's ratio), narrow enough for a page: per reading, one cell of three lines
    (the Algorithm 2 / Algorithm 1 ratio with its 95% interval, then each claim's label with
    its deciding bound); and which method carried each change of the ratio by more than
    :data:`MOVED` from the defaults (:func:`moved_by`). Show it with
    ``report.table(..., lines=True)``."""
    readings = list(dict.fromkeys(curve.reading))
    via: dict[str, list[str]] = {}
    for reading, sub in curve.groupby("reading", sort=False):
        if (sub.choice == "").any():
            for _, r in moved_by(sub).iterrows():
                short = r.via.replace("Algorithm ", "Alg ")
                via.setdefault(r.spec, []).append(f"{_reading(reading)}: {short} "
                                                  f"(x{r.change:.2f})")
    first = curve[curve.reading == readings[0]]
    order = ["book's defaults"] + [s for s in first.spec if s != "book's defaults"]
    order += [s for s in dict.fromkeys(curve.spec) if s not in order]
    rows = []
    for spec in order:
        row = {"specification": spec}
        for reading in readings:
            r = curve[(curve.reading == reading) & (curve.spec == spec)]
            if r.empty:
                row[_reading(reading)] = "n/a"
                continue
            r = r.iloc[0]
            row[_reading(reading)] = (f"{r['geo-mean ratio']:.2f} {r['95% CI']}\n"
                                      f"claim 1 {r['claim 1 label']}\n"
                                      f"claim 2 {r['claim 2 label']}")
        row["change carried by"] = "\n".join(via.get(spec, [])) or \
            ("" if spec == "book's defaults" else f"no change beyond x{MOVED:g}")
        rows.append(row)
    return pd.DataFrame(rows)


def one_sentence(curve: pd.DataFrame, source: str) -> str:
    """The study in one computed sentence: how many specifications give each claim each
    label, per reading (``source`` names the study)."""
    counts = claim_counts(curve)
    parts = []
    for reading, sub in counts.groupby("reading", sort=False):
        c1, c2 = (sub[sub.claim == c].iloc[0] for c in ("claim 1", "claim 2"))

        def said(c):
            verbs = {"holds": "holds", "not shown": "is not shown",
                     "contradicted": "is contradicted", "not testable": "is not testable"}
            return ", ".join(f"{verbs[s]} under {int(c[s])}" for s in STATUSES if int(c[s]))

        parts.append(f"{_reading(reading)}, claim 1 {said(c1)}, and claim 2 {said(c2)}")
    return f"Over the {len(set(curve.spec))} specifications of {source}: " \
        + "; ".join(parts) + "."


def curve_alt_text(curve: pd.DataFrame) -> str:
    """Alt text of the specification curve: per reading, the range of the ratio over the
    specifications (lowest and highest, with their names) and how many lie below and above
    1."""
    parts = []
    for reading, g in curve.groupby("reading", sort=False):
        lo, hi = g.loc[g["geo-mean ratio"].idxmin()], g.loc[g["geo-mean ratio"].idxmax()]
        parts.append(f"{_reading(reading)}: from {lo['geo-mean ratio']:.2f} ({lo.spec}) to "
                     f"{hi['geo-mean ratio']:.2f} ({hi.spec}); interval below 1 under "
                     f"{int((g.hi < 1).sum())}, above 1 under {int((g.lo > 1).sum())}")
    return (f"Specification curve: the steps ratio Algorithm 2 / Algorithm 1 with its 95% "
            f"interval under each of {len(set(curve.spec))} specifications, sorted, with the "
            f"paper's 0.5 and no difference (1) as lines. " + "; ".join(parts) + ".")


def short_findings(curve: pd.DataFrame, source: str) -> str:
    """At most three computed sentences on the study for the book's first page: how many
    specifications give each claim each label, per reading; where Algorithm 2 is shown
    faster or slower; and the specification that moves the ratio most. ``source`` names the
    study (which one, sizes, trials), and is said beside the numbers."""
    first = one_sentence(curve, source)
    faster = {_reading(r): int((g.hi < 1).sum()) for r, g in curve.groupby("reading",
                                                                         sort=False)}
    slower = {_reading(r): int((g.lo > 1).sum()) for r, g in curve.groupby("reading",
                                                                         sort=False)}
    second = ("Algorithm 2 is shown faster than Algorithm 1 (interval below 1) under "
              + ", ".join(f"{v} ({k})" for k, v in faster.items())
              + " specifications and slower (interval above 1) under "
              + ", ".join(f"{v} ({k})" for k, v in slower.items()) + ".")
    moved = pd.concat([moved_by(g).assign(reading=r) for r, g in curve.groupby("reading")
                       if (g.choice == "").any()], ignore_index=True) \
        if (curve.choice == "").any() else pd.DataFrame()
    if moved.empty:
        third = f"No specification moves the ratio by more than a factor {MOVED:g}."
    else:
        top = moved.iloc[(moved.change.map(math.log).abs()).argmax()]
        third = (f"The largest move from the defaults: {top.spec} ({_reading(top.reading)}, "
                 f"ratio x{top.change:.2f}, now {top['geo-mean ratio']:.2f} {top['95% CI']}, "
                 f"carried by {top.via}).")
    return " ".join([first, second, third])
