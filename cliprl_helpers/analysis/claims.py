"""The paper's two claims as rules on intervals, with the bound that decides each.

* Claim 1 (Section 5): Algorithm 2 needs about 50% fewer training steps than Algorithm 1:
  :func:`claim_reduction` reads the 95% interval of the geometric-mean ratio.
* Claim 2: the gain grows with the grid: :func:`claim_growth` reads the ratio at the largest
  size and the slope of the log ratio on log size.

Each rule returns a :class:`Verdict`: a status (``holds``, ``not shown``, ``contradicted``,
``not testable``), the bound that decided it and the effect in words (which way, how much).
:func:`verdict` applies both to a results table, per target reading.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import libm
from .stats import (
    LEVEL,
    bca_interval,
    check_positive,
    interval_text,
    log_t_interval,
    paired_steps,
    pooled_ratio,
    slope_log_ratio,
)

#: The paper's claim 1, "approximately 50% fewer steps": a ratio of 0.5 (the paper's number,
#: not a tuned threshold).
PAPER_RATIO = 0.5


#: No difference between the two methods.
NO_DIFFERENCE = 1.0


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


def steps_change(ratio: float, more: str = "slower", fewer: str = "faster",
                 same: str = "about as fast") -> str:
    """A steps ratio (Algorithm 2 / Algorithm 1) as a change: ``"45% slower"``, ``"12%
    faster"``, ``same`` when it rounds to 0%; ``more``/``fewer`` name the two directions."""
    change = 100 * (ratio - 1)
    if round(abs(change)) == 0:
        return same
    return f"{abs(change):.0f}% {more if change > 0 else fewer}"


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
    moved = f"Algorithm 2 is {steps_change(float(np.sqrt(lo * hi)))}"
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
    logs = [libm.log(check_positive(f"ratios at grid size {n}", per_size[n])) for n in sizes]
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
                                   for x in paired_steps(g, num, den)])
                    for n, g in sub.groupby("grid_size")}
        c1 = claim_reduction(overall["lo"], overall["hi"])
        c2, d2 = claim_growth(per_size, level, seed)
        rows.append({"reading": reading, "grid sizes": len(per_size),
                     "trials per size": int(sub.trial.nunique()),
                     "geo-mean ratio": round(overall["geo-mean ratio"], 2),
                     "95% CI": interval_text(overall["lo"], overall["hi"]),
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
