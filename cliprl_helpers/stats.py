"""Statistics over trials: a thin, documented layer over ``scipy.stats`` (chapters 5-9).

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
* :func:`claim_reduction` and :func:`claim_growth`: the paper's two claims as rules on those
  intervals, with "not testable" when the data cannot answer.

Censored runs (no convergence within the budget) enter at the budget, so a summary that
includes them is a *lower bound* on the true mean; tables say how many were censored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from . import checks, libm


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


def curves_frame(curve_steps: np.ndarray, curves: np.ndarray, labels: Sequence[str],
                 label_name: str = "task") -> pd.DataFrame:
    """Tidy learning curves from ``curves`` of shape ``(T trials, K evals, N series)``.

    NaNs (evaluations after a run stopped) carry the run's last value forward: a converged
    agent stays converged.
    """
    T, K, N = curves.shape
    c = pd.DataFrame(curves.transpose(0, 2, 1).reshape(T * N, K)).ffill(axis=1).to_numpy()
    trial = np.repeat(np.arange(T), N)
    label = np.tile(np.asarray(labels, dtype=object), T)
    return pd.DataFrame({
        "trial": np.repeat(trial, K), label_name: np.repeat(label, K),
        "env_steps": np.tile(curve_steps[:K], T * N), "optimal_fraction": c.reshape(-1)})


def geo_mean_ci(ratios, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Geometric mean of positive ratios with a percentile-bootstrap interval (on the logs).

    Ratios multiply, so their natural average is geometric. Returns ``(gm, lo, hi)``.
    """
    logs = libm.log(np.asarray(ratios, dtype=float))
    lo, hi = bootstrap_ci(logs, level=level, seed=seed)
    return float(libm.exp(logs.mean())), float(libm.exp(lo)), float(libm.exp(hi))


#: Confidence level of every interval in the book.
LEVEL = 0.95
#: The paper's claim 1, "approximately 50% fewer steps": a ratio of 0.5 (the paper's number,
#: not a tuned threshold).
PAPER_RATIO = 0.5
#: No difference between the two methods.
NO_DIFFERENCE = 1.0
#: Bootstrap resamples (scipy's default).
N_RESAMPLES = 9999


def _positive(name: str, values) -> np.ndarray:
    x = np.asarray(values, dtype=float).reshape(-1)
    checks.finite(name, x)
    if (x <= 0).any():
        raise ValueError(f"{name} must be positive (they are ratios), got {x[x <= 0][:5]}")
    return x


def log_t_interval(ratios, level: float = LEVEL) -> tuple[float, float, float]:
    """Geometric mean of positive ratios with a t-interval computed on their logarithms.

    Returns ``(gm, lo, hi)``; the interval is ``nan`` for fewer than two ratios.
    """
    logs = libm.log(_positive("ratios", ratios))
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
        import warnings

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
    logs = libm.log(_positive("ratios", ratios))
    if logs.size < 2 or np.all(logs == 0):
        return float("nan")
    return float(sps.wilcoxon(logs, zero_method="wilcox").pvalue)


@dataclass(frozen=True)
class Verdict:
    """The outcome of a claim test: ``status`` is one of :data:`STATUSES`; ``bound`` names
    the interval bound(s) that decided it against the claim's threshold, in short
    (``"lo 1.20 > 0.5"``), so a reader sees how close a label is to flipping."""

    status: str
    reason: str
    bound: str = ""
    #: Which way the evidence points and how far (``"Algorithm 2 is 45% slower"``).
    effect: str = ""

    def __str__(self) -> str:
        return f"{self.status}: {self.reason}"

    @property
    def label(self) -> str:
        """``"contradicted: Algorithm 2 is 45% slower (lo 1.31 > 1)"``: the status, the
        direction and size of the effect, and the deciding bound."""
        text = f"{self.status}: {self.effect}" if self.effect else self.status
        return f"{text} ({self.bound})" if self.bound else text


def _percent(ratio: float) -> str:
    """``"45% slower"`` / ``"12% faster"`` for a steps ratio Algorithm 2 / Algorithm 1."""
    change = 100 * (ratio - 1)
    if round(abs(change)) == 0:
        return "about as fast"
    return f"{abs(change):.0f}% {'slower' if change > 0 else 'faster'}"


STATUSES = ("holds", "not shown", "contradicted", "not testable")


def claim_reduction(lo: float, hi: float, target: float = PAPER_RATIO) -> Verdict:
    """Claim 1, "about 50% fewer steps", from the interval ``[lo, hi]`` of the ratio.

    * holds: the interval lies below 1 (fewer steps shown) and reaches ``target`` (0.5) or
      below (a reduction of about that size, or more, is not excluded);
    * contradicted: the interval lies above ``target``: a 50% reduction is excluded (the
      reason says whether Algorithm 2 was still faster, no different, or slower);
    * not shown: the interval contains both ``target`` and 1;
    * not testable: no interval (fewer than two trials).
    """
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return Verdict("not testable", "no interval (fewer than two trials)", "no interval")
    span = f"ratio interval [{lo:.2f}, {hi:.2f}]"
    # the interval is symmetric on the log scale around the geometric mean
    moved = f"Algorithm 2 is {_percent(float(np.sqrt(lo * hi)))}"
    claimed = f"the claimed {100 * (1 - target):.0f}%"
    if hi < NO_DIFFERENCE and lo <= target:
        return Verdict("holds", f"{span} lies below 1 and reaches {target}",
                       f"hi {hi:.2f} < 1, lo {lo:.2f} <= {target:g}", moved)
    if lo > target:
        if lo > NO_DIFFERENCE:
            return Verdict("contradicted", f"{span}: Algorithm 2 is slower",
                           f"lo {lo:.2f} > 1", moved)
        if hi < NO_DIFFERENCE:
            return Verdict("contradicted", f"{span}: fewer steps, but less than "
                                           f"{100 * (1 - target):.0f}% fewer",
                           f"lo {lo:.2f} > {target:g}", f"{moved}, not {claimed}")
        return Verdict("contradicted", f"{span}: no difference shown, and "
                                       f"{100 * (1 - target):.0f}% fewer is excluded",
                       f"lo {lo:.2f} > {target:g}",
                       f"{moved}, not shown to differ, and not {claimed}")
    return Verdict("not shown", f"{span} contains both {target} and 1",
                   f"lo {lo:.2f} <= {target:g}, hi {hi:.2f} >= 1",
                   f"{moved}, not shown to differ")


def slope_log_ratio(sizes, groups, axis: int = -1):
    """Least-squares slope of the mean log ratio per grid size on log grid size.

    ``groups`` holds one array of log ratios per size; with ``axis`` the groups may carry
    leading batch dimensions (the bootstrap's resamples), and the slope has their shape.
    """
    x = libm.log(np.asarray(sizes, dtype=float))
    xc = x - x.mean()
    y = np.stack([np.mean(g, axis=axis) for g in groups], axis=-1)
    # sums of products by numpy's own pairwise sum, not OpenBLAS's dot (whose kernel, and so
    # whose last bit, follows the CPU: cliprl_helpers.numerics)
    slope = np.sum((y - y.mean(axis=-1, keepdims=True)) * xc, axis=-1) / np.sum(xc * xc)
    return float(slope) if np.ndim(slope) == 0 else slope


def claim_growth(per_size: dict, level: float = LEVEL, seed: int = 0) -> tuple[Verdict, dict]:
    """Claim 2, "the gain grows with grid size", from per-trial ratios per grid size.

    The slope of the mean log ratio on log grid size, with a BCa interval that resamples the
    trials of each size separately; and the t-interval of the ratio at the largest size.

    * holds: the slope's interval lies below 0 (the ratio falls as grids grow) *and*
      Algorithm 2 is faster at the largest size (its interval lies below 1);
    * contradicted: the slope's interval lies above 0, or Algorithm 2 is slower at the
      largest size (interval above 1);
    * not shown: anything else;
    * not testable: fewer than 3 grid sizes or fewer than 2 trials at one of them.

    Returns ``(verdict, details)`` with the slope, its interval and the largest size's
    interval.
    """
    sizes = sorted(per_size)
    logs = [libm.log(_positive(f"ratios at grid size {n}", per_size[n])) for n in sizes]
    details = {"slope": float("nan"), "slope_lo": float("nan"), "slope_hi": float("nan"),
               "largest": sizes[-1] if sizes else None, "largest_lo": float("nan"),
               "largest_hi": float("nan")}
    if len(sizes) < 3 or any(g.size < 2 for g in logs):
        return Verdict("not testable", f"needs at least 3 grid sizes with 2 or more trials "
                                       f"each, got sizes {sizes}",
                       f"{len(sizes)} grid size{'s' if len(sizes) != 1 else ''}"), details
    details["slope"] = slope_log_ratio(sizes, logs)
    details["slope_lo"], details["slope_hi"] = bca_interval(
        logs, lambda *g, axis=-1: slope_log_ratio(sizes, g, axis), paired=False, level=level,
        seed=seed, vectorized=True)
    _, details["largest_lo"], details["largest_hi"] = log_t_interval(libm.exp(logs[-1]), level)
    s_lo, s_hi = details["slope_lo"], details["slope_hi"]
    l_lo, l_hi = details["largest_lo"], details["largest_hi"]
    n, n0 = sizes[-1], sizes[0]
    slope = (f"slope of log ratio on log size {details['slope']:+.2f} "
             f"[{s_lo:+.2f}, {s_hi:+.2f}]")
    at_largest = f"ratio at {n}x{n} in [{l_lo:.2f}, {l_hi:.2f}]"
    first, last = (float(libm.exp(g.mean())) for g in (logs[0], logs[-1]))
    way = "falls" if last < first else "rises"
    trend = f"the ratio {way} from {first:.2f} at {n0}x{n0} to {last:.2f} at {n}x{n}"
    if s_hi < 0 and l_hi < NO_DIFFERENCE:
        return Verdict("holds", f"{slope}; {at_largest}",
                       f"slope hi {s_hi:+.2f} < 0, hi at {n}x{n} {l_hi:.2f} < 1",
                       trend), details
    if s_lo > 0:
        return Verdict("contradicted", f"the ratio grows with size: {slope}",
                       f"slope lo {s_lo:+.2f} > 0", trend), details
    if l_lo > NO_DIFFERENCE:
        return Verdict("contradicted", f"Algorithm 2 is slower at the largest size: "
                                       f"{at_largest}", f"lo at {n}x{n} {l_lo:.2f} > 1",
                       f"{trend}, still slower"), details
    missed = ([f"slope hi {s_hi:+.2f} >= 0"] if s_hi >= 0 else []) + \
        ([f"hi at {n}x{n} {l_hi:.2f} >= 1"] if l_hi >= NO_DIFFERENCE else [])
    return Verdict("not shown", f"{slope}; {at_largest}", ", ".join(missed), trend), details


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
            :data:`cliprl_helpers.experiment.RATIO_RESOLUTION`) so a run that starts
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
    r = _positive("ratios (num + resolution) / (den + resolution)", a / b)
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


def _interval(lo: float, hi: float) -> str:
    return "n/a" if not (np.isfinite(lo) and np.isfinite(hi)) else f"[{lo:.2f}, {hi:.2f}]"


def display_ratios(ratios: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """A :func:`ratio_table` as a table to read: plain headers, numbers rounded once,
    intervals as ``[lo, hi]`` text, ``by`` columns first."""
    out = pd.DataFrame({c.replace("_", " "): ratios[c] for c in by})
    out["trials"] = ratios["trials"]
    out["geo-mean ratio"] = ratios["geo-mean ratio"].round(2)
    out["95% CI (t on logs)"] = [_interval(a, b) for a, b in zip(ratios.lo, ratios.hi)]
    out["95% CI (BCa)"] = [_interval(a, b) for a, b in zip(ratios["bca lo"], ratios["bca hi"])]
    out["median ratio"] = ratios["median ratio"].round(2)
    out["ratio of means"] = ratios["ratio of means"].round(2)
    out["Wilcoxon p"] = ratios["wilcoxon p"].map(lambda p: "n/a" if not np.isfinite(p)
                                                 else f"{p:.3f}")
    out["faster in"] = [f"{f}/{n}" for f, n in zip(ratios.faster, ratios.trials)]
    out["censored pairs"] = ratios["censored pairs"]
    return out.reset_index(drop=True)


def verdict(table: pd.DataFrame, resolution: int, num: str = "algorithm2",
            den: str = "algorithm1", level: float = LEVEL, seed: int = 0) -> pd.DataFrame:
    """The paper's two claims tested per target reading, one row each.

    Claim 1 uses the t-interval of the geometric-mean ratio over every (grid size, trial)
    pair of the reading; claim 2 the per-size ratios (:func:`claim_growth`).
    """
    rows = []
    for reading, sub in table.groupby("target_reading", sort=False):
        overall = pooled_ratio(sub, num, den, resolution, level, seed)
        per_size = {n: np.divide(*[np.asarray(x, float) + resolution
                                   for x in _paired(g, num, den)])
                    for n, g in sub.groupby("grid_size")}
        c1 = claim_reduction(overall["lo"], overall["hi"])
        c2, d2 = claim_growth(per_size, level, seed)
        rows.append({"reading": reading, "grid sizes": len(per_size),
                     "trials per size": int(sub.trial.nunique()),
                     "geo-mean ratio": round(overall["geo-mean ratio"], 2),
                     "95% CI": _interval(overall["lo"], overall["hi"]),
                     "lo": overall["lo"], "hi": overall["hi"],
                     "claim 1 (about 50% fewer)": str(c1),
                     "claim 2 (gain grows with size)": str(c2),
                     "claim 1": c1.status, "claim 2": c2.status,
                     "claim 1 label": c1.label, "claim 2 label": c2.label,
                     "claim 1 bound": c1.bound, "claim 2 bound": c2.bound,
                     "claim 1 effect": c1.effect, "claim 2 effect": c2.effect,
                     "slope": d2["slope"], "slope lo": d2["slope_lo"],
                     "slope hi": d2["slope_hi"]})
    return pd.DataFrame(rows)


def pooled_ratio(table: pd.DataFrame, num: str, den: str, resolution: int,
                 level: float = LEVEL, seed: int = 0) -> dict:
    """:func:`ratio_stats` of ``num`` / ``den`` over every (grid size, trial) pair of
    ``table`` (the trial of a grid size is the unit), without the BCa intervals."""
    units = table.assign(trial=table.grid_size.astype(str) + ":" + table.trial.astype(str))
    return ratio_stats(*_paired(units, num, den), resolution, level, seed, bca=False)


def _paired(table: pd.DataFrame, num: str, den: str) -> tuple[pd.Series, pd.Series]:
    steps = table.pivot_table(index="trial", columns="method", values="steps_to_converge",
                              aggfunc="first")
    return steps[num], steps[den]


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


#: What the mechanism correlations relate the log ratio to (column -> reader's label).
MECHANISM_FEATURES = {"sum_abs_weight": "sum of |w| (extrapolation)",
                      "near_weight": "net weight on the bases nearest the target",
                      "initial_fraction_gain": "initial optimal fraction, Alg 2 minus Alg 1"}


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
                     "95% CI": _interval(lo, hi), "p": p, "lo": lo, "hi": hi})
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
    return (f"{row['geo-mean ratio']:.2f} {_interval(row['lo'], row['hi'])}: "
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
                     f"{_interval(r.lo, r.hi)}: {said}.")
    return "\n".join(lines)


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


def power_text(table: pd.DataFrame, resolution: int, num: str = "algorithm2",
               den: str = "algorithm1", power: float = 0.8) -> str:
    """Markdown bullets per reading: the reductions this design detects with ``power``, at
    one grid size and over all sizes, from the observed spread of the log ratios."""
    lines = []
    for reading, sub in table.groupby("target_reading", sort=False):
        logs, per_size = [], []
        for _, g in sub.groupby("grid_size"):
            a, b = _paired(g, num, den)
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
