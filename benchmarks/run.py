"""`make bench`: measure the batched code against one-at-a-time code, in one run."""

from __future__ import annotations

import os
import time

import torch

from . import env_speed


def main() -> None:
    print(f"machine: {os.cpu_count()} CPU cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} torch threads\n", flush=True)
    t0 = time.perf_counter()
    print(env_speed.report(env_speed.bench_env()), flush=True)
    print(f"benchmarks took {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
