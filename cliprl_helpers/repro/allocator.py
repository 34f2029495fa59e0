"""Keeping large tensor temporaries on the heap, so training is not slowed by page faults.

The trainer allocates and frees megabyte-sized temporaries every iteration (a population's
Q table on 25x25 is 8 MB). glibc serves allocations above its *mmap threshold* with a fresh
``mmap`` and returns them with ``munmap`` on free; normally that threshold rises to the size
of what was freed (up to 32 MB), so after the first iterations those temporaries come from
the heap. Setting any malloc tunable through the environment switches that adjustment off,
and Dask's nanny does exactly that for its workers (``MALLOC_TRIM_THRESHOLD_=65536``, see
``distributed.nanny.pre-spawn-environ``): every temporary is then mapped, page-faulted and
unmapped again, and a sweep worker trained **1.8x slower** (25x25 grid: 80.7 s instead of
43.8 s, 31 s of it in the kernel).

Importing :mod:`cliprl_helpers` calls :func:`keep_on_heap`, which fixes both thresholds at the
values glibc's own adjustment ends at (mmap 32 MB, trim 64 MB). Numbers do not change, only
speed; ``tests/test_allocator.py`` measures the page faults. On other C libraries it does
nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

#: glibc ``mallopt`` parameters (``malloc.h``)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD


def keep_on_heap() -> bool:
    """Fix glibc's mmap and trim thresholds at 32 MB and 64 MB; returns whether it could
    (False where the C library has no ``mallopt``, e.g. macOS or musl)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        return False
    if mallopt is None or not hasattr(libc, "gnu_get_libc_version"):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
