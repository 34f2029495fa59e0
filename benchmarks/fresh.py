"""Run a measurement in a fresh interpreter.

A process that has already run other work can be markedly slower (allocator and
thread-pool state), which would land on whichever measurement comes later; every timed
measurement of `make bench` therefore gets a process of its own.
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor


def in_fresh_process(fn, *args):
    """``fn(*args)`` run in a newly spawned Python process; returns its result."""
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()
