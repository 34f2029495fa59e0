"""Pinning torch's threads, so that results and speed do not depend on the machine's load.

Importing :mod:`cliprl_helpers` calls :func:`pin_threads`: torch then uses **one intra-op
thread** per process (override with the environment variable ``CLIPRL_TORCH_THREADS`` or by
calling :func:`pin_threads` yourself) and deterministic algorithms where torch has a choice.

Why one: the trainer's tensors are small, so a second thread buys little, and on a machine
whose cores are busy (two sweep workers on two cores, say) torch's default of one thread per
core made runs 8-26x slower. Reference numerics (the default, :mod:`cliprl_helpers.core.numerics`)
require one thread; in native mode the trainer's numbers are the same at any thread count
(``tests/test_determinism.py``), while MKL's (the sentence encoder's) may not be.
"""

from __future__ import annotations

import os

import torch

from ..core import checks, numerics

ENV_VAR = "CLIPRL_TORCH_THREADS"


def requested_threads() -> int:
    """The thread count asked for by ``CLIPRL_TORCH_THREADS`` (default 1)."""
    raw = os.environ.get(ENV_VAR, "1")
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"{ENV_VAR} must be a positive integer, got {raw!r}")
    return n


def pin_threads(n: int | None = None) -> int:
    """Set torch's intra-op thread count (default :func:`requested_threads`) and turn on
    deterministic algorithms; returns the count.

    Reference numerics (:mod:`cliprl_helpers.core.numerics`) compute on one thread: MKL's
    reproducible branch gives the same bits only at a fixed thread count, so another count
    is refused there (``ValueError``) and needs ``CLIPRL_NUMERICS=native``."""
    n = requested_threads() if n is None else n
    n = checks.positive_int("thread count", n)
    if n != 1 and numerics.mode() == "reference":
        raise ValueError(f"reference numerics compute on 1 thread, got {n} (from {ENV_VAR} or "
                         f"the argument); set {numerics.ENV_VAR}=native to use {n} threads "
                         f"(numbers then depend on the machine)")
    torch.set_num_threads(n)
    _deterministic()
    return n


def _deterministic() -> None:
    """``torch.use_deterministic_algorithms(True)`` for eager kernels, the only ones the
    package runs. The public call also imports torch's compiler (``torch._inductor``) to set
    its flag, which cost 1.0 s in every process that imports the package (every notebook
    kernel and sweep run); the kernel-side switch it makes is set here directly, and the public
    call is the fallback should a torch lack it."""
    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None:
        torch.use_deterministic_algorithms(True)
    else:
        setter(True, warn_only=False)
