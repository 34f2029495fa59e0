"""Statistics over trials: intervals, tests and the tables built from them (``scipy.stats``).

The independent unit is the **trial**: one seed, its base policies, its alignment and every
method's fine-tuning, all sharing random streams. Comparisons are therefore *paired* within a
trial, and every interval resamples trials (never runs within a trial).

* :func:`log_t_interval`: geometric mean of per-trial ratios with a t-interval on the logs
  (``scipy.stats.ttest_1samp(...).confidence_interval``): the primary interval.
* :func:`bca_interval`: a BCa bootstrap interval (``scipy.stats.bootstrap``) of any statistic
  over trials, paired across arrays, or stratified over independent groups (grid sizes).
* :func:`wilcoxon_p`: the Wilcoxon signed-rank test of the log ratios against 0.
* :func:`ratio_stats` / :func:`ratio_table`: all of the above for one comparison, with the
  geometric mean, the median ratio and the ratio of means side by side.
* :func:`holm`, :func:`detectable_ratio`, :func:`correlations`: multiple testing, power and
  Spearman correlations for the mechanism tables.

The paper's claims as rules on these intervals are :mod:`cliprl_helpers.analysis.claims`; the
sentences built from them, :mod:`cliprl_helpers.analysis.sentences`.

Censored runs (no convergence within the budget) enter at the budget, so a summary that
includes them is a *lower bound* on the true mean; tables say how many were censored.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..core import checks
from . import libm


def bootstrap_ci(values, stat: Callable = np.mean, n_boot: int = 2000, level: float = 0.95,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``stat`` over ``values`` (1-D).

    Returns ``(nan, nan)`` for fewer than two values.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size < 2:
        return (float("nan"), float("nan"))
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    boots = stat(x[idx], axis=1)
    a = (1 - level) / 2
    return float(np.quantile(boots, a)), float(np.quantile(boots, 1 - a))


def summarise(df: pd.DataFrame, by: Sequence[str], value: str = "steps_to_converge",
              censored: str | None = "censored") -> pd.DataFrame:
    """Per group: n, mean with 95% CI, median with 95% CI, and the censored count."""
    rows = []
    for key, g in df.groupby(list(by), sort=False):
        v = g[value].to_numpy(dtype=float)
        lo, hi = bootstrap_ci(v)
        mlo, mhi = bootstrap_ci(v, stat=np.median)
        row = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        row.update({"n": len(v), "mean": v.mean(), "mean_lo": lo, "mean_hi": hi,
                    "median": float(np.median(v)), "median_lo": mlo, "median_hi": mhi})
        if censored is not None:
            row["censored"] = int(g[censored].sum())
        rows.append(row)
    return pd.DataFrame(rows)


def geo_mean_ci(ratios, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Geometric mean of positive ratios with a percentile-bootstrap interval (on the logs).

    Ratios multiply, so their natural average is geometric. Returns ``(gm, lo, hi)``.
    """
    logs = libm.log(np.asarray(ratios, dtype=float))
    lo, hi = bootstrap_ci(logs, level=level, seed=seed)
    return float(libm.exp(logs.mean())), float(libm.exp(lo)), float(libm.exp(hi))


#: Confidence level of every interval in the book.
LEVEL = 0.95
#: Bootstrap resamples (scipy's default).
N_RESAMPLES = 9999


def check_positive(name: str, values) -> np.ndarray:
    x = np.asarray(values, dtype=float).reshape(-1)
    checks.finite(name, x)
    if (x <= 0).any():
        raise ValueError(f"{name} must be positive (they are ratios), got {x[x <= 0][:5]}")
    return x


def log_t_interval(ratios, level: float = LEVEL) -> tuple[float, float, float]:
    """Geometric mean of positive ratios with a t-interval computed on their logarithms.

    Returns ``(gm, lo, hi)``; the interval is ``nan`` for fewer than two ratios.
    """
    logs = libm.log(check_positive("ratios", ratios))
    checks.real("level", level, low=0, high=1, low_open=True, high_open=True)
    gm = float(libm.exp(logs.mean())) if logs.size else float("nan")
    if logs.size < 2:
        return gm, float("nan"), float("nan")
    if np.ptp(logs) == 0:
        return gm, gm, gm
    ci = sps.ttest_1samp(logs, 0.0).confidence_interval(confidence_level=level)
    return gm, float(libm.exp(ci.low)), float(libm.exp(ci.high))


def bca_interval(samples, statistic: Callable, paired: bool = True, level: float = LEVEL,
                 seed: int = 0, n_resamples: int = N_RESAMPLES,
                 vectorized: bool = False) -> tuple[float, float]:
    """BCa bootstrap interval of ``statistic(*samples)`` (``scipy.stats.bootstrap``).

    Args:
        samples: a tuple of 1-D arrays. With ``paired=True`` they are columns of one table
            of trials (same length) and a resample draws whole trials; with ``paired=False``
            they are independent groups (e.g. grid sizes) resampled separately (stratified).
        statistic: a function of the arrays returning a number; with ``vectorized=True``
            it takes an ``axis`` keyword and reduces along it (much faster).

    Returns ``(lo, hi)``; ``(nan, nan)`` when a sample has fewer than two values or the
    statistic does not vary (BCa is then undefined).
    """
    samples = tuple(np.asarray(x, dtype=float) for x in samples)
    if any(x.size < 2 for x in samples):
        return float("nan"), float("nan")
    with np.errstate(all="ignore"):

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # degenerate jackknife: reported as nan below
            stat = statistic if vectorized else (lambda *a: statistic(*a))
            res = sps.bootstrap(samples, stat, paired=paired,
                                vectorized=vectorized, confidence_level=level, method="BCa",
                                n_resamples=n_resamples, rng=np.random.default_rng(seed))
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return (lo, hi) if np.isfinite(lo) and np.isfinite(hi) else (float("nan"), float("nan"))


def wilcoxon_p(ratios) -> float:
    """Two-sided Wilcoxon signed-rank p-value of the log ratios against 0 (``nan`` for fewer
    than two ratios or when every ratio is 1)."""
    logs = libm.log(check_positive("ratios", ratios))
    if logs.size < 2 or np.all(logs == 0):
        return float("nan")
    return float(sps.wilcoxon(logs, zero_method="wilcox").pvalue)


def slope_log_ratio(sizes, groups, axis: int = -1):
    """Least-squares slope of the mean log ratio per grid size on log grid size.

    ``groups`` holds one array of log ratios per size; with ``axis`` the groups may carry
    leading batch dimensions (the bootstrap's resamples), and the slope has their shape.
    """
    x = libm.log(np.asarray(sizes, dtype=float))
    xc = x - x.mean()
    y = np.stack([np.mean(g, axis=axis) for g in groups], axis=-1)
    # sums of products by numpy's own pairwise sum, not OpenBLAS's dot (whose kernel, and so
    # whose last bit, follows the CPU: cliprl_helpers.core.numerics)
    slope = np.sum((y - y.mean(axis=-1, keepdims=True)) * xc, axis=-1) / np.sum(xc * xc)
    return float(slope) if np.ndim(slope) == 0 else slope


def _mean(x, axis=-1):
    return np.mean(x, axis=axis)


def _ratio_of_means(x, y, axis=-1):
    return np.mean(x, axis=axis) / np.mean(y, axis=axis)


def ratio_stats(num, den, resolution: int = 0, level: float = LEVEL,
                seed: int = 0, bca: bool = True) -> dict:
    """Every summary of one paired comparison over trials.

    Args:
        num, den: steps to converge per trial of the two methods (same trial order).
        resolution: added to both sides (the evaluation interval; see
            :data:`cliprl_helpers.analysis.ratios.RATIO_RESOLUTION`) so a run that starts
            converged compares finitely.

    Returns a dict: ``trials``, ``geo-mean ratio`` with its t-interval ``lo``/``hi`` and BCa
    interval ``bca lo``/``bca hi``, ``median ratio``, ``ratio of means`` with a paired BCa
    interval, ``wilcoxon p``, ``faster`` (trials where ``num`` needed fewer steps).
    ``bca=False`` skips the two bootstraps (their entries are NaN).
    """
    a = np.asarray(num, dtype=float) + resolution
    b = np.asarray(den, dtype=float) + resolution
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"num and den must be 1-D and of one length, got {a.shape} and "
                         f"{b.shape}")
    r = check_positive("ratios (num + resolution) / (den + resolution)", a / b)
    gm, lo, hi = log_t_interval(r, level)
    nan = (float("nan"), float("nan"))
    blo, bhi = bca_interval((libm.log(r),), _mean, level=level, seed=seed, vectorized=True) \
        if bca else nan
    mlo, mhi = bca_interval((a, b), _ratio_of_means, level=level, seed=seed,
                            vectorized=True) if bca else nan
    return {"trials": int(r.size), "geo-mean ratio": gm, "lo": lo, "hi": hi,
            "bca lo": float(libm.exp(blo)), "bca hi": float(libm.exp(bhi)),
            "median ratio": float(np.median(r)), "ratio of means": float(a.mean() / b.mean()),
            "ratio of means lo": mlo, "ratio of means hi": mhi, "wilcoxon p": wilcoxon_p(r),
            "faster": int((a < b).sum())}


def ratio_table(table: pd.DataFrame, num: str, den: str, by: Sequence[str],
                resolution: int = 0, level: float = LEVEL, seed: int = 0,
                bca: bool = True) -> pd.DataFrame:
    """:func:`ratio_stats` of ``num`` against ``den`` per group of ``by`` (trials paired by
    the ``trial`` column), with the censored pairs counted. One row per group."""
    by = list(by)
    # the unit is a trial of one grid size (and held-out target): pooled over sizes when
    # ``by`` does not split them
    unit = [c for c in ("grid_size", "target") if c in table.columns and c not in by]
    steps = table.pivot_table(index=[*by, *unit, "trial"], columns="method",
                              values="steps_to_converge", aggfunc="first")
    cens = table.pivot_table(index=[*by, *unit, "trial"], columns="method", values="censored",
                             aggfunc="first").astype(bool)
    missing = [m for m in (num, den) if m not in steps.columns]
    if missing:
        raise ValueError(f"method(s) {missing} are not in the table: it has "
                         f"{sorted(steps.columns)}")
    rows = []
    for key, g in (steps.groupby(level=by, sort=True) if by else [((), steps)]):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key))
        row.update(ratio_stats(g[num], g[den], resolution, level, seed, bca))
        c = cens.loc[g.index]
        row["censored pairs"] = int((c[num] | c[den]).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def pooled_ratio(table: pd.DataFrame, num: str, den: str, resolution: int,
                 level: float = LEVEL, seed: int = 0) -> dict:
    """:func:`ratio_stats` of ``num`` / ``den`` over every (grid size, trial) pair of
    ``table`` (the trial of a grid size is the unit), without the BCa intervals."""
    units = table.assign(trial=table.grid_size.astype(str) + ":" + table.trial.astype(str))
    return ratio_stats(*paired_steps(units, num, den), resolution, level, seed, bca=False)


def paired_steps(table: pd.DataFrame, num: str, den: str) -> tuple[pd.Series, pd.Series]:
    """Steps to converge of ``num`` and ``den``, one value per trial (paired by trial)."""
    steps = table.pivot_table(index="trial", columns="method", values="steps_to_converge",
                              aggfunc="first")
    return steps[num], steps[den]


def steps_table(table: pd.DataFrame, by: Sequence[str] = ("target_reading", "grid_size"),
                methods: Sequence[str] | None = None) -> pd.DataFrame:
    """Geometric-mean steps to converge per group and method, as a plain table: one row per
    group, one column per method (``"<method> (geo-mean steps)"``), plus censored runs."""
    by = list(by)
    methods = list(methods or dict.fromkeys(table.method))
    rows = []
    for key, g in table.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        row = {c.replace("_", " "): k for c, k in zip(by, key)}
        for m in methods:
            v = g[g.method == m].steps_to_converge.clip(lower=1).to_numpy(dtype=float)
            row[f"{m} (geo-mean steps)"] = int(round(float(libm.exp(libm.log(v).mean())))) \
                if v.size else None
        row["censored runs"] = int(g.censored.sum())
        rows.append(row)
    return pd.DataFrame(rows)


def correlations(mech: pd.DataFrame, features: dict | None = None, target: str = "log_ratio",
                 level: float = LEVEL, seed: int = 0) -> pd.DataFrame:
    """Spearman correlation of ``target`` with each feature over the rows (trials), with a
    paired BCa interval and the test's p-value (``scipy.stats.spearmanr``)."""
    features = features or MECHANISM_FEATURES
    rows = []
    for col, label in features.items():
        x, y = mech[col].to_numpy(float), mech[target].to_numpy(float)
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
            rho = p = lo = hi = float("nan")
        else:
            res = sps.spearmanr(x, y)
            rho, p = float(res.statistic), float(res.pvalue)
            lo, hi = bca_interval((x, y), lambda a, b: sps.spearmanr(a, b).statistic,
                                  level=level, seed=seed, n_resamples=2000)
        rows.append({"feature": label, "trials": int(x.size), "Spearman rho": rho,
                     "95% CI": interval_text(lo, hi), "p": p, "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


def comparison_table(table: pd.DataFrame, comparisons, by: Sequence[str], resolution: int,
                     level: float = LEVEL, seed: int = 0) -> pd.DataFrame:
    """:func:`ratio_table` of several ``(num, den)`` comparisons, stacked, with a
    ``comparison`` column; comparisons whose methods are not in the table are left out."""
    present = set(table.method)
    parts = [ratio_table(table, n, d, by, resolution, level, seed).assign(
                 comparison=f"{n} / {d}")
             for n, d in comparisons if n in present and d in present]
    out = pd.concat(parts, ignore_index=True)
    return out[["comparison", *[c for c in out.columns if c != "comparison"]]]


def method_summary(table: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Per group and method: runs, geometric-mean and median steps to converge, the mean
    initial optimal fraction, and censored runs; a plain table."""
    rows = []
    for key, g in table.groupby([*by, "method"], sort=False):
        key = key if isinstance(key, tuple) else (key,)
        v = g.steps_to_converge.clip(lower=1).to_numpy(dtype=float)
        row = {c.replace("_", " "): k for c, k in zip([*by, "method"], key)}
        gm = float(libm.exp(libm.log(v).mean()))
        row.update({"runs": len(v), "geo-mean steps": int(round(gm)),
                    "median steps": int(np.median(v)),
                    "initial optimal fraction": round(float(g.initial_fraction.mean()), 2),
                    "censored": int(g.censored.sum())})
        rows.append(row)
    return pd.DataFrame(rows)


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjustment of p-values for testing several hypotheses at once (NaN
    entries are left out and stay NaN): the adjusted p-value of the k-th smallest of m is
    ``max_{j <= k} min(1, (m - j + 1) p_(j))``."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    adjusted = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(adjusted)
    return out


def detectable_ratio(sd_log: float, n: int, level: float = LEVEL, power: float = 0.8) -> float:
    """The smallest reduction a two-sided one-sample t-test on ``n`` log ratios with standard
    deviation ``sd_log`` detects with probability ``power``: returns the ratio ``r < 1``
    (``1 / r`` is the matching slowdown). Exact, from the noncentral t distribution."""
    # lazy: scipy.optimize is slow to import; only the power calculation needs it
    from scipy.optimize import brentq

    n = checks.integer("n", n, low=2)
    sd_log = checks.real("sd_log", sd_log, low=0, low_open=True)
    df, crit = n - 1, sps.t.ppf(1 - (1 - level) / 2, n - 1)

    def shortfall(delta):
        nc = delta * np.sqrt(n) / sd_log
        with np.errstate(all="ignore"):
            reject = sps.nct.sf(crit, df, nc) + sps.nct.cdf(-crit, df, nc)
        # scipy's noncentral t returns NaN far in the tail, where the power is 1
        return (reject if np.isfinite(reject) else 1.0) - power

    hi = sd_log / np.sqrt(n)
    for _ in range(40):  # widen until the power is reached (few trials need large effects)
        if shortfall(hi) > 0:
            return float(libm.exp(-brentq(shortfall, 1e-12, hi)))
        hi *= 1.5
    return float("nan")


def interval_text(lo: float, hi: float) -> str:
    """``"[lo, hi]"`` to two decimals (``"n/a"`` when a bound is not finite)."""
    return "n/a" if not (np.isfinite(lo) and np.isfinite(hi)) else f"[{lo:.2f}, {hi:.2f}]"


#: What the mechanism correlations relate the log ratio to (column -> reader's label).
MECHANISM_FEATURES = {"sum_abs_weight": "sum of |w| (extrapolation)",
                      "near_weight": "net weight on the bases nearest the target",
                      "initial_fraction_gain": "initial optimal fraction, Alg 2 minus Alg 1"}
