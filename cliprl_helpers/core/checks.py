"""One validation layer for the numbers and choices the package is given.

Every public function and config checks its arguments with these helpers before doing any
work, so a bad value fails at once with a ``ValueError`` that names the argument, shows the
value and says what is allowed. The rules are the same everywhere:

* integers: Python ``int`` or any numpy integer; ``bool`` is refused (``True`` is not a
  count) and so is a float, even ``2.0``;
* reals: ``int``, ``float`` or numpy scalars; ``bool`` and strings are refused; NaN and
  infinity are refused;
* tensors and arrays of data (similarities, weights, embeddings): every entry finite.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np
import torch


def _range_text(low, high, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high}"
    return "any value"


def integer(name: str, value, low: int | None = None, high: int | None = None) -> int:
    """``value`` as a Python int, checked to be an integer in ``[low, high]``.

    >>> integer("n_trials", np.int64(3), low=1)
    3
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer {_range_text(low, high, False, False)}, "
                         f"got {value!r} ({type(value).__name__})")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(f"{name} must be an integer {_range_text(low, high, False, False)}, "
                         f"got {v}")
    return v


def positive_int(name: str, value) -> int:
    """An integer >= 1 (a count: trials, steps, units)."""
    return integer(name, value, low=1)


def real(name: str, value, low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite Python float in the given range (open or closed ends)."""
    allowed = _range_text(low, high, low_open, high_open)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a finite number {allowed}, got {value!r} "
                         f"({type(value).__name__})")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number {allowed}, got {v}")
    if (low is not None and (v <= low if low_open else v < low)) or \
            (high is not None and (v >= high if high_open else v > high)):
        raise ValueError(f"{name} must be a finite number {allowed}, got {v}")
    return v


def positive_real(name: str, value) -> float:
    """A finite number > 0 (a rate, a temperature)."""
    return real(name, value, low=0, low_open=True)


def choice(name: str, value, allowed: Iterable[str]) -> str:
    """One of ``allowed`` (compared as given: no case folding)."""
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"unknown {name} {value!r}: allowed are {', '.join(allowed)}")
    return value


def flag(name: str, value) -> bool:
    """A real boolean (``True``/``False``; numpy booleans too), never a number or string."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def finite(name: str, values) -> torch.Tensor:
    """``values`` as a tensor whose every entry is finite; names the bad entries if not.

    Accepts tensors, numpy arrays and nested lists of numbers.
    """
    try:
        t = values if isinstance(values, torch.Tensor) else torch.as_tensor(
            np.array(values, dtype=np.float64))  # a copy: pandas may hand read-only arrays
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be numbers, got {values!r} ({e})") from None
    if t.is_floating_point() or t.is_complex():
        bad = ~torch.isfinite(t)
        if bool(bad.any()):
            where = [i[0] if len(i) == 1 else tuple(i) for i in bad.nonzero().tolist()[:5]]
            raise ValueError(f"{name} must be finite, but has {int(bad.sum())} NaN or infinite "
                             f"entr{'y' if int(bad.sum()) == 1 else 'ies'} (at index "
                             f"{', '.join(map(str, where))}): {_preview(t)}")
    return t


def _preview(t: torch.Tensor) -> str:
    flat = t.reshape(-1)
    return str(flat[:8].tolist()) + (" ..." if flat.numel() > 8 else "")
