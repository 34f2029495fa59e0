"""Elementwise ``log`` and ``exp`` that give the same bits whatever numpy's SIMD dispatch.

numpy chooses its float64 ``log``/``exp`` kernels by CPU when it is imported: on an AVX-512
CPU they are numpy's own AVX-512 code, on every other x86-64 CPU (and at numpy's baseline)
the C library's scalar functions, and the two differ in the last bit for some inputs. A
geometric mean printed to 16 digits shows it. Reference numerics put numpy at its baseline
(:mod:`cliprl_helpers.core.numerics`), but the statistics of the book should not depend on a pin
they can do without: they take their logarithms and exponentials from here, which calls the
C library (``math.log``, ``math.exp``) one value at a time, exactly what numpy's baseline
loop does. The arrays involved are small (one value per trial or per run), so the cost is
negligible.

``tests/test_libm.py`` checks the equality with numpy's baseline loops, and that a fixed
table's statistics are the same bits at numpy's baseline and at the widest dispatch level
of the machine.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def _log1(v: float) -> float:
    return math.log(v) if v > 0 else (-math.inf if v == 0 else math.nan)  # as numpy


def _exp1(v: float) -> float:
    try:
        return math.exp(v)
    except OverflowError:  # numpy gives inf
        return math.inf


def _apply(fn, x):
    if isinstance(x, pd.Series):
        return pd.Series(_apply(fn, x.to_numpy(dtype=float)), index=x.index, name=x.name)
    if np.ndim(x) == 0:
        return fn(float(x))
    a = np.asarray(x, dtype=float)
    out = np.fromiter(map(fn, a.ravel().tolist()), dtype=float, count=a.size)
    return out.reshape(a.shape)


def log(x):
    """Natural logarithm, elementwise: a float for a scalar, an array of ``x``'s shape for an
    array, a Series (same index) for a Series. Like ``np.log``: ``-inf`` at 0, NaN below."""
    return _apply(_log1, x)


def exp(x):
    """``e ** x``, elementwise, shaped as :func:`log`."""
    return _apply(_exp1, x)
