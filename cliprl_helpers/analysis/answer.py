"""The answer at a glance: the first page's figure, its alt text and its three sentences,
computed from the verdict and the comparison tables of chapter 6 (nothing typed by hand).

* :func:`ratio_alt_text`: what the figure of Algorithm 2 / Algorithm 1 per grid size shows,
  in words, for readers who cannot see it;
* :func:`sentences`: at most three sentences: claim 1 in both readings (the direction and
  size of the effect), claim 2 (which way the ratio moves and what decided its label), and
  the mechanism (whether what the alignment learned matters: Algorithm 2 against its
  shuffled-pair control and against the language top-1 pick).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from .claims import steps_change
from .sentences import shows
from .stats import interval_text

READING_NAMES = {"as_printed": "as printed", "self_consistent": "self-consistent"}


def _reading(name: str) -> str:
    return READING_NAMES.get(name, name.replace("_", " "))


def _ratio(row) -> str:
    return f"{row['geo-mean ratio']:.2f} {interval_text(row['lo'], row['hi'])}"


def ratio_alt_text(per_size: pd.DataFrame) -> str:
    """Alt text of the ratio-per-size figure from :func:`cliprl_helpers.analysis.stats.ratio_table`
    (columns ``target_reading``, ``grid_size``, ``geo-mean ratio``, ``lo``, ``hi``)."""
    parts = []
    for reading, sub in per_size.groupby("target_reading", sort=False):
        cells = "; ".join(f"{n}x{n} {_ratio(r)}" for n, r in
                          sub.sort_values("grid_size").set_index("grid_size").iterrows())
        parts.append(f"{_reading(reading)}: {cells}")
    return ("Steps ratio Algorithm 2 / Algorithm 1 per grid size, geometric mean with 95% "
            "interval, on a log axis with lines at 0.5 (the paper's claim) and 1 (no "
            "difference). " + ". ".join(parts) + ".")


def sentences(verdicts: pd.DataFrame, compared: pd.DataFrame, labels: dict,
              table: pd.DataFrame | None = None, growth: bool = True) -> str:
    """Three sentences in Markdown (two with ``growth=False``: the claim-2 sentence left to
    the size ladder, chapter 10, whose rule decides claim 2).

    Args:
        verdicts: :func:`cliprl_helpers.analysis.claims.verdict`'s table (one row per reading).
        compared: :func:`cliprl_helpers.analysis.stats.comparison_table` by ``target_reading``, with
            the comparisons ``algorithm2 / algorithm2_shuffled`` and ``algorithm2 /
            language_top1`` where the table has them.
        labels: method -> readable name (:data:`cliprl_helpers.analysis.plotting.METHOD_LABELS`).
        table: the runs (for :func:`weights_follow`; left out when None).
    """
    v = verdicts.set_index("reading")
    claim1 = "; ".join(
        f"{_reading(r)}, Algorithm 2 {_steps(d['geo-mean ratio'])} than Algorithm 1 "
        f"({d['geo-mean ratio']:.2f} {d['95% CI']}): claim 1 **{d['claim 1']}**"
        for r, d in v.iterrows())
    claim2 = "; ".join(f"{_reading(r)}, {d['claim 2 effect'] or 'no trend measurable'}, "
                       f"so claim 2 is **{d['claim 2']}** ({d['claim 2 bound']})"
                       for r, d in v.iterrows())
    out = [f"Over every grid size and trial: {claim1}."]
    if growth:
        out.append(f"The paper's second claim, that the gain grows with the grid: {claim2}.")
    mech = mechanism(compared, labels, table)
    if mech:
        out.append(mech)
    return " ".join(out)


def top_picks(table: pd.DataFrame) -> dict:
    """Where Algorithm 2's largest weight goes, over every run of ``table`` that has both
    Algorithm 1 and 2 (grid size, reading, trial): ``{"runs", "same as language" (the share
    on the base Algorithm 1's language cosines rank first), "nearest" (the share on the base
    whose goal is nearest the target), "language nearest" (the same for Algorithm 1)}``."""
    keys = [c for c in ("setting", "target", "grid_size", "target_reading", "trial")
            if c in table.columns]
    runs = {m: table[table.method == m].set_index(keys) for m in ("algorithm1", "algorithm2")}
    both = runs["algorithm1"].index.intersection(runs["algorithm2"].index)
    if both.empty:
        return {"runs": 0}
    first = {m: runs[m].loc[both, "weights"].map(lambda w: int(np.argmax(json.loads(w))))
             for m in runs}
    return {"runs": int(len(both)),
            "same as language": float((first["algorithm1"] == first["algorithm2"]).mean()),
            "nearest": float(runs["algorithm2"].loc[both, "top_pick_nearest"].mean()),
            "language nearest": float(runs["algorithm1"].loc[both, "top_pick_nearest"].mean())}


def weights_follow(table: pd.DataFrame) -> str:
    """One clause: where Algorithm 2 puts its largest weight (:func:`top_picks`)."""
    p = top_picks(table)
    if not p["runs"]:
        return ""
    return (f"over {p['runs']} runs, Algorithm 2's largest weight sits on the base that "
            f"language ranks first in {p['same as language']:.0%} of them, and on the base "
            f"nearest the target in {p['nearest']:.0%} (language's first choice: "
            f"{p['language nearest']:.0%})")


def _steps(ratio: float) -> str:
    return "needed " + steps_change(ratio, "more training steps", "fewer training steps",
                                    "about as many training steps")


def mechanism(compared: pd.DataFrame, labels: dict, table: pd.DataFrame | None = None) -> str:
    """One sentence: what Algorithm 2's weights follow (:func:`weights_follow`, when
    ``table`` is given), and its ratios to the shuffled-pair control and to the language
    top-1 pick (empty when there is none of these)."""
    parts = [weights_follow(table)] if table is not None else []
    parts = [p for p in parts if p]
    for other in ("algorithm2_shuffled", "language_top1"):
        rows = compared[compared.comparison == f"algorithm2 / {other}"]
        if rows.empty:
            continue
        each = ", ".join(f"{_ratio(r)} {_reading(r['target_reading'])} "
                         f"({_said(r, labels.get(other, other))})" for _, r in rows.iterrows())
        parts.append(f"Algorithm 2 / {labels.get(other, other)} is {each}")
    if not parts:
        return ""
    return ("What Algorithm 2's weights follow: " + "; ".join(parts) + ".")


def _said(row, other: str) -> str:
    return {"faster": "Algorithm 2 faster", "slower": f"{other} faster",
            "no difference shown": "no difference shown"}.get(shows(row["lo"], row["hi"]),
                                                              "no interval")


#: The paper's sentences the book tests, with where they stand and the number they give.
PAPER_CLAIMS = (
    ("claim 1", "\"the CLIP-inspired transfer model reduces training time by approximately 50% "
                "on average compared to a baseline model that relies solely on natural language "
                "similarity\" (Section 1)", "ratio 0.5"),
    ("claim 2", "\"as the size of the grid increases, the performance improves exponentially\" "
                "(Section 5)", "none"),
    ("initialisation", "\"Algorithm 2 (inspired by CLIP) selects better policies, providing more "
                       "effective initializations\" (Section 5)", "none"),
    ("design", "\"We run both algorithms for 10 independent trials\" on grids of 8, 10, 15 "
               "and 25 (Section 5)", "10 trials, 4 sizes"),
)


def paper_table(verdicts: pd.DataFrame, table: pd.DataFrame,
                growth_note: str = "") -> pd.DataFrame:
    """The paper beside the book: each claim quoted with its section and the paper's number,
    and the book's number and label per reading (columns ``the paper``, ``paper's number``
    and one per reading). ``growth_note`` follows each claim-2 label (where claim 2 is
    decided when these sizes do not decide it)."""
    v = verdicts.set_index("reading")
    rows = []
    for key, quote, number in PAPER_CLAIMS:
        row = {"the paper": quote, "paper's number": number}
        for reading, d in v.iterrows():
            sub = table[table.target_reading == reading]
            if key == "claim 1":
                said = f"ratio {d['geo-mean ratio']:.2f} {d['95% CI']}\n{d['claim 1 label']}"
            elif key == "claim 2":
                said = d["claim 2 label"] + (f"\n{growth_note}" if growth_note else "")
            elif key == "initialisation":
                start = sub.groupby("method").initial_fraction.mean()
                said = (f"cells optimal at the start: Algorithm 2 {start['algorithm2']:.2f}, "
                        f"Algorithm 1 {start['algorithm1']:.2f} (mean over runs)")
            else:
                sizes = sorted(int(n) for n in sub.grid_size.unique())
                said = (f"{sub.trial.nunique()} trials per size, sizes "
                        f"{', '.join(map(str, sizes))}")
            row[_reading(reading)] = said
        rows.append(row)
    return pd.DataFrame(rows)
