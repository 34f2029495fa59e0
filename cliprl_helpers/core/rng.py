"""Counter-based random streams: one independent stream per agent, in batched tensors.

A population trainer must give every agent its own random numbers, and the numbers an agent
draws must not depend on which other agents train beside it. A counter-based generator does
exactly that: the value at ``(agent seed, stream, counter, index)`` is a fixed hash of those
four integers, so an agent alone and the same agent inside a population of 40 draw the same
numbers, and all agents' numbers come out of one tensor operation.

The hash is Chris Wellons' ``lowbias32`` (a 32-bit integer finaliser), computed in ``int64``
with every product kept below ``2**63`` so nothing overflows.
"""

from __future__ import annotations

import torch

_MASK32 = 0xFFFFFFFF
_C1 = 0x7FEB352D
_C2 = 0x846CA68B
_GOLDEN = 0x9E3779B9


def _mul32(x: torch.Tensor, c: int) -> torch.Tensor:
    """``(x * c) mod 2**32`` for ``x`` in ``[0, 2**32)`` without int64 overflow."""
    lo, hi = c & 0xFFFF, c >> 16
    return (x * lo + (((x * hi) & 0xFFFF) << 16)) & _MASK32


def hash32(x: torch.Tensor) -> torch.Tensor:
    """``lowbias32`` of every element of an ``int64`` tensor holding values in ``[0, 2**32)``."""
    x = x ^ (x >> 16)
    x = _mul32(x, _C1)
    x = x ^ (x >> 15)
    x = _mul32(x, _C2)
    return x ^ (x >> 16)


def _hash_int(v: int) -> int:
    return int(hash32(torch.tensor([v & _MASK32], dtype=torch.int64))[0])


class Streams:
    """Uniform draws in ``[0, 1)`` for ``P`` agents, keyed by seed, stream, counter and index.

    Args:
        seeds: ``(P,)`` integer seeds, one per agent.

    ``uniform(stream, counters, n)`` returns a ``(P, len(counters), n)`` ``float32`` tensor;
    its value at ``[p, t, i]`` depends only on ``(seeds[p], stream, counters[t], i)``.
    """

    def __init__(self, seeds):
        seeds = torch.as_tensor(seeds, dtype=torch.int64).reshape(-1)
        self.keys = hash32((seeds & _MASK32) ^ _hash_int(_GOLDEN))  # (P,)
        self._index_cache: dict[int, torch.Tensor] = {}

    def select(self, keep: torch.Tensor) -> None:
        """Keep only the agents where ``keep`` ``(P,)`` is True."""
        self.keys = self.keys[keep]

    def _index_hash(self, n: int) -> torch.Tensor:
        if n not in self._index_cache:
            self._index_cache[n] = hash32((torch.arange(n, dtype=torch.int64) * _GOLDEN)
                                          & _MASK32)
        return self._index_cache[n]

    def uniform(self, stream: int, counters: torch.Tensor, n: int) -> torch.Tensor:
        """Draws of shape ``(P, T, n)`` for ``T = len(counters)`` counters."""
        counters = torch.as_tensor(counters, dtype=torch.int64).reshape(-1)
        c = hash32(((counters * _GOLDEN) ^ _hash_int(stream * 0x85EBCA6B + 1)) & _MASK32)
        k = hash32(self.keys[:, None] ^ c[None, :])  # (P, T)
        h = hash32(k[:, :, None] ^ self._index_hash(n)[None, None, :])  # (P, T, n)
        return (h >> 8).to(torch.float32) * (1.0 / (1 << 24))


class StreamBlock:
    """Pre-draws a block of ``block`` consecutive counters of one stream, then serves them.

    Drawing many counters at once turns ~20 small tensor operations per training iteration
    into one large operation per block; the values are identical to drawing them one by one.
    """

    def __init__(self, streams: Streams, stream: int, n: int, block: int = 64):
        self.streams, self.stream, self.n, self.block = streams, stream, n, block
        self._start = -1
        self._cache: torch.Tensor | None = None

    def select(self, keep: torch.Tensor) -> None:
        """Keep only the agents where ``keep`` ``(P,)`` is True (call with the Streams')."""
        if self._cache is not None:
            self._cache = self._cache[keep]

    def __call__(self, counter: int) -> torch.Tensor:
        """The ``(P, n)`` draws at ``counter``."""
        start = counter - counter % self.block
        if start != self._start:
            counters = torch.arange(start, start + self.block)
            self._cache = self.streams.uniform(self.stream, counters, self.n)
            self._start = start
        return self._cache[:, counter - start]
