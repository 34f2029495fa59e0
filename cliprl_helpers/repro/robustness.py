"""Run the robustness study: every choice of
:data:`~cliprl_helpers.analysis.spec_curve.CHOICES` varied alone from the book's defaults, over
the paper's grid sizes and both readings, as one sweep (:mod:`cliprl_helpers.repro.sweep`,
``--one-at-a-time``) on a Dask cluster (``python -m cliprl_helpers.repro.robustness``;
``make robustness``). :mod:`cliprl_helpers.analysis.spec_curve` reads its table."""

from __future__ import annotations

import argparse
import subprocess
import sys

from ..analysis.spec_curve import CHOICES
from .registry import PAPER_SIZES, robustness_args


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m cliprl_helpers.repro.robustness",
        description="Run the robustness study: every choice of CHOICES varied "
                    "alone from the book's defaults, over grid sizes and both readings, as "
                    "one sweep on a Dask cluster (finished runs are reused).")
    p.add_argument("--out", default="runs/robustness", help="output folder (runs/robustness)")
    p.add_argument("--trials", type=int, default=10, help="trials per grid size (10)")
    p.add_argument("--grid-sizes", nargs="+", type=int, default=list(PAPER_SIZES), metavar="N")
    p.add_argument("--jobs", type=int, default=2, help="local Dask workers (2)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="an existing Dask scheduler instead of a local cluster")
    p.add_argument("--choices", nargs="+", default=None, metavar="NAME",
                   help=f"a subset of the choices ({', '.join(CHOICES)}); default: all")
    args = p.parse_args(argv)
    try:
        cmd = robustness_args(args.out, args.trials, args.grid_sizes, args.jobs, args.choices,
                         args.scheduler)
    except ValueError as e:
        p.error(str(e))
    return subprocess.call([sys.executable, "-m", "cliprl_helpers.repro.sweep", *cmd])


if __name__ == "__main__":
    sys.exit(main())
