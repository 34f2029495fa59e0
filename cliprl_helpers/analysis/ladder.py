"""Claim 2 on the size ladder: the pre-registered trend test and its decomposition.

The plan (``book/size_ladder_plan.md``, committed before any ladder run) fixes:

* the **primary test**: a trial-level regression of the log ratio (steps to threshold,
  Algorithm 2 / Algorithm 1, the resolution added to both) on log grid size over the sizes
  ``>= 10``, with a BCa interval that resamples trials (a trial's runs at every size move
  together: ``scipy.stats.bootstrap`` with ``paired=True``);
* the **decision rule**: holds if the slope's upper bound is below 0, contradicted if its
  lower bound is above 0, not shown otherwise;
* the **decomposition**: the same regression for Algorithm 1 / scratch and Algorithm 2 /
  scratch, which says which method moved.

Every trial runs at every size (a balanced design), so the pooled least-squares slope over
(trial, size) points equals the slope of the per-size means on log size
(:func:`~cliprl_helpers.analysis.stats.slope_log_ratio`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..core.tasks import PAPER_BASE_INSTRUCTIONS
from . import libm
from .claims import Verdict
from .stats import LEVEL, bca_interval, interval_text, slope_log_ratio

#: The smallest grid size of the primary test (the plan: sizes >= 10).
PRIMARY_MIN_SIZE = 10
#: The comparisons of the trend test: the primary ratio and its decomposition.
TRENDS = {"Algorithm 2 / Algorithm 1": ("algorithm2", "algorithm1"),
          "Algorithm 1 / scratch": ("algorithm1", "scratch"),
          "Algorithm 2 / scratch": ("algorithm2", "scratch")}


def log_ratio_matrix(table: pd.DataFrame, num: str, den: str, resolution: int,
                     column: str = "steps_to_converge") -> pd.DataFrame:
    """Per-trial log ratios ``log((num + resolution) / (den + resolution))`` as a
    ``(trial x grid size)`` frame of one reading's rows.

    ``ValueError`` when a trial is missing at a size (the regression needs every trial at
    every size) or a method is missing.
    """
    for m in (num, den):
        if m not in set(table.method):
            raise ValueError(f"method {m!r} is not in the table: it has "
                             f"{', '.join(sorted(set(table.method)))}")
    if table.target_reading.nunique() != 1:
        raise ValueError("give the rows of one target reading")
    wide = table.pivot_table(index=["trial", "grid_size"], columns="method", values=column,
                             aggfunc="first")
    logs = libm.log((wide[num].to_numpy(float) + resolution)
                    / (wide[den].to_numpy(float) + resolution))
    out = pd.Series(logs, index=wide.index).unstack("grid_size")
    missing = out.isna().sum()
    if missing.any():
        bad = {int(n): int(k) for n, k in missing.items() if k}
        raise ValueError(f"trials missing at grid size(s) {bad} (size: trials missing): the "
                         f"trend test needs every trial at every size")
    return out


def trend(logs: pd.DataFrame, sizes=None, level: float = LEVEL, seed: int = 0) -> dict:
    """The slope of the log ratio on log size over ``sizes`` (default: every column of
    ``logs``, a :func:`log_ratio_matrix`), its BCa interval resampling trials, and the fitted
    ratio at the smallest and the largest size."""
    sizes = sorted(logs.columns if sizes is None else sizes)
    cols = [logs[n].to_numpy(float) for n in sizes]
    slope = slope_log_ratio(sizes, cols)
    lo, hi = bca_interval(cols, lambda *g, axis=-1: slope_log_ratio(sizes, g, axis),
                          paired=True, level=level, seed=seed, vectorized=True)
    x = libm.log(np.asarray(sizes, float))
    centre = float(np.mean([c.mean() for c in cols]))
    fitted = [float(libm.exp(np.array(centre + slope * (xi - x.mean())))) for xi in x[[0, -1]]]
    return {"sizes": sizes, "trials": len(logs), "slope": slope, "lo": lo, "hi": hi,
            "fitted_first": fitted[0], "fitted_last": fitted[1]}


def decide(fit: dict) -> str:
    """The plan's decision rule on a slope's interval."""
    if fit["hi"] < 0:
        return "holds"
    if fit["lo"] > 0:
        return "contradicted"
    return "not shown"


def _moved(name: str, fit: dict) -> str:
    what = name.split(" / ")[0]
    if fit["hi"] < 0:
        return f"{what} gained on scratch"
    if fit["lo"] > 0:
        return f"{what} lost ground to scratch"
    return f"{what} did not move against scratch"


def growth_verdict(table: pd.DataFrame, resolution: int, min_size: int = PRIMARY_MIN_SIZE,
                   level: float = LEVEL, seed: int = 0) -> tuple[Verdict, dict]:
    """Claim 2 by the plan's rule for one reading's rows: ``(verdict, fits)``, ``fits`` the
    :func:`trend` of each of :data:`TRENDS` over the sizes ``>= min_size``.

    The label says the direction and size of the effect (the fitted ratio at the smallest and
    the largest size), and which method moved (the decomposition).
    """
    fits = {}
    for name, (num, den) in TRENDS.items():
        logs = log_ratio_matrix(table, num, den, resolution)
        sizes = [n for n in logs.columns if n >= min_size]
        if len(sizes) < 3 or len(logs) < 2:
            return Verdict("not testable", f"needs 3 grid sizes >= {min_size} and 2 trials, "
                                           f"got sizes {sizes} and {len(logs)} trials",
                           f"{len(sizes)} grid sizes"), fits
        fits[name] = trend(logs, sizes, level, seed)
    main = fits["Algorithm 2 / Algorithm 1"]
    status = decide(main)
    n0, n1 = main["sizes"][0], main["sizes"][-1]
    way = "falls" if main["slope"] < 0 else "rises"
    effect = (f"the ratio {way} with size: fitted {main['fitted_first']:.2f} at {n0}x{n0}, "
              f"{main['fitted_last']:.2f} at {n1}x{n1}; "
              + ", ".join(_moved(k, fits[k]) for k in list(TRENDS)[1:]))
    span = f"slope {main['slope']:+.2f} {interval_text(main['lo'], main['hi'])}"
    bound = (f"slope hi {main['hi']:+.2f} < 0" if status == "holds" else
             f"slope lo {main['lo']:+.2f} > 0" if status == "contradicted" else
             f"slope lo {main['lo']:+.2f} <= 0 <= hi {main['hi']:+.2f}")
    return Verdict(status, span, bound, effect), fits


def growth_verdicts(table: pd.DataFrame, resolution: int, level: float = LEVEL,
                    seed: int = 0) -> tuple[dict, dict]:
    """:func:`growth_verdict` for every target reading of ``table``, in table order:
    ``({reading: verdict}, {reading: fits})``."""
    verdicts, fits = {}, {}
    for reading, sub in table.groupby("target_reading", sort=False):
        verdicts[reading], fits[reading] = growth_verdict(sub, resolution, level=level,
                                                          seed=seed)
    return verdicts, fits


def trend_table(table: pd.DataFrame, resolution: int, level: float = LEVEL,
                seed: int = 0) -> pd.DataFrame:
    """Per reading: the primary test (sizes >= 10), the same over every size (secondary),
    and the decomposition, one row each."""
    rows = []
    for reading, sub in table.groupby("target_reading", sort=False):
        verdict, fits = growth_verdict(sub, resolution, level=level, seed=seed)
        every = trend(log_ratio_matrix(sub, "algorithm2", "algorithm1", resolution),
                      level=level, seed=seed)
        named = [("primary: Algorithm 2 / Algorithm 1, sizes >= 10",
                  fits["Algorithm 2 / Algorithm 1"], verdict.status),
                 ("secondary: Algorithm 2 / Algorithm 1, every size", every, decide(every))]
        named += [(f"decomposition: {k}, sizes >= 10", fits[k], "") for k in list(TRENDS)[1:]]
        for what, fit, label in named:
            n0, n1 = fit["sizes"][0], fit["sizes"][-1]
            rows.append({"reading": reading, "regression": what, "trials": fit["trials"],
                         "slope": round(fit["slope"], 3),
                         "95% CI (BCa)": interval_text(fit["lo"], fit["hi"]),
                         "fitted ratio at smallest": round(fit["fitted_first"], 2),
                         "fitted ratio at largest": round(fit["fitted_last"], 2),
                         "sizes": f"{n0}..{n1}", "label": label,
                         "lo": fit["lo"], "hi": fit["hi"]})
    return pd.DataFrame(rows)



def time_fit(times: pd.DataFrame, project_to: int = 100, level: float = LEVEL,
             min_size: int = 0) -> dict:
    """How the cost of one trial grows with the grid: least squares of log seconds on log
    size over runs of one trial each (``times``: columns ``grid_size``, ``seconds``) at sizes
    ``>= min_size``, the exponent's t-interval (``scipy.stats.linregress``), and the seconds
    of one trial projected to ``project_to x project_to``.

    ``min_size`` leaves out the small grids, where a run's fixed cost (starting its kernel,
    loading the encoder) rather than training sets its time and would flatten the fit.

    Returns ``{"exponent", "lo", "hi", "projected_s", "runs", "sizes"}``. An extrapolation
    past the sizes measured: the projection says what the fitted power law implies, no more.
    """
    t = times.dropna(subset=["seconds"])
    t = t[t.grid_size >= min_size]
    if t.grid_size.nunique() < 2:
        raise ValueError(f"a fit needs runs at 2 or more grid sizes, got "
                         f"{sorted(t.grid_size.unique())}")
    x, y = libm.log(t.grid_size.to_numpy(float)), libm.log(t.seconds.to_numpy(float))
    fit = sps.linregress(x, y)
    q = sps.t.ppf(0.5 + level / 2, len(t) - 2) if len(t) > 2 else float("nan")
    at = fit.intercept + fit.slope * libm.log(np.array([float(project_to)]))
    projected = float(libm.exp(at)[0])
    return {"exponent": float(fit.slope), "lo": float(fit.slope - q * fit.stderr),
            "hi": float(fit.slope + q * fit.stderr), "projected_s": projected,
            "runs": len(t), "sizes": sorted(int(n) for n in t.grid_size.unique())}


def censoring_table(table: pd.DataFrame, methods=None) -> pd.DataFrame:
    """Runs censored at their budget, per grid size: each method's fine-tuning runs (``"k of
    n"``, both readings together) and the base policies (each trial trains one per base
    task, shared by both readings: ``bases_censored`` counts a trial's), with the budget.

    ``ValueError`` when the two readings of a trial disagree on its censored base policies
    (then they were not the same policies).
    """
    methods = list(dict.fromkeys(table.method)) if methods is None else list(methods)
    rows = []
    for n, g in table.groupby("grid_size", sort=True):
        row = {"grid size": int(n), "budget (env steps)": int(g.budget.max())}
        for m in methods:
            runs = g[g.method == m]
            row[m] = f"{int(runs.censored.sum())} of {len(runs)}"
        per_trial = g.groupby("trial").bases_censored.agg(["min", "max"])
        if (per_trial["min"] != per_trial["max"]).any():
            raise ValueError(f"grid size {n}: the readings of a trial disagree on its "
                             f"censored base policies")
        row["base policies"] = (f"{int(per_trial['max'].sum())} of "
                                f"{len(PAPER_BASE_INSTRUCTIONS) * len(per_trial)}")
        rows.append(row)
    return pd.DataFrame(rows)


def time_table(times: pd.DataFrame) -> pd.DataFrame:
    """Wall-clock seconds of a sweep's runs per grid size (``times``: columns
    ``grid_size``, ``seconds``, one row per run, as ``repro.published.run_times`` gives
    them): runs, median and total seconds."""
    t = times.dropna(subset=["seconds"])
    g = t.groupby("grid_size").seconds
    out = pd.DataFrame({"runs": g.size(), "median s per run": g.median().round(1),
                        "total s": g.sum().round(0)}).reset_index()
    return out.rename(columns={"grid_size": "grid size"})
