"""One registry of what the book computes: the paper's grid sizes, the chapters that compute
tables (their notebooks and stored parameters) and the published results (what each is and
the sweep command that computes it). Every other module asks here."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import papermill

from ..analysis.spec_curve import CHOICES
from ..core import numerics
from ..core.artifacts import project_root
from . import codeprint

ROOT = project_root(Path(__file__).resolve().parent)
RESULTS_DIR = ROOT / "results"
#: The grid sizes of the paper (Section 5, Figure 2).
PAPER_SIZES = (8, 10, 15, 25)
#: The chapters that compute tables, by number: their notebooks (relative to the book's root).
CHAPTERS = {"05": "notebooks/05_clip_transfer.ipynb",
            "07": "notebooks/07_minigrid.ipynb",
            "08": "notebooks/08_when_alignment_helps.ipynb"}
#: The grid sizes each chapter accepts (inclusive).
SIZE_RANGE = {"05": (4, 10_000), "07": (9, 10_000), "08": (4, 24)}


def notebook_defaults(path: str | Path) -> dict:
    """The parameters cell of a notebook as ``{name: default value}``."""
    out = {}
    for name, info in papermill.inspect_notebook(str(path)).items():
        try:
            out[name] = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            out[name] = info["default"]
    return out


def _cli(v) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def robustness_args(out: str | Path, trials: int, grid_sizes=PAPER_SIZES, jobs: int = 2,
                    choices=None, scheduler: str | None = None) -> list[str]:
    """The sweep's command line for the robustness study: every choice of
    :data:`~cliprl_helpers.analysis.spec_curve.CHOICES` (or the subset ``choices``) varied
    alone from the book's defaults."""
    names = list(CHOICES) if choices is None else list(choices)
    unknown = [c for c in names if c not in CHOICES]
    if unknown or not names:
        raise ValueError(f"unknown choice(s) {unknown or names}: allowed are "
                         f"{', '.join(CHOICES)}")
    args = ["--out", str(out), "--trials", str(trials), "--grid-sizes",
            *map(str, grid_sizes), "--one-at-a-time", "--no-figures"]
    args += ["--scheduler", scheduler] if scheduler else ["--jobs", str(jobs)]
    for name in names:
        args += ["-p", name, *(_cli(v) for v in CHOICES[name])]
    return args


@dataclass(frozen=True)
class Result:
    """One published result: its name, what it is, the chapter notebook that computes its
    rows and the numerics it is computed in."""

    name: str
    title: str
    chapter: str
    #: Trials per grid size (``None``: the chapter notebook's own default).
    trials: int | None = None
    numerics: str = "reference"
    #: False: another CPU may compute other bits (native kernels); reported apart.
    exact: bool = True
    #: Chapter 5's grid sizes and fixed notebook parameters (``-p``), and the sweep's
    #: ``--trials-per-run`` (``None``: one run per size).
    sizes: tuple[int, ...] = PAPER_SIZES
    parameters: tuple[tuple[str, str], ...] = ()
    trials_per_run: int | None = None
    #: The re-stamp's slice (:mod:`cliprl_helpers.repro.restamp`): trials ``0 ..
    #: restamp_trials - 1`` of every grid size, specification, method and reading. One trial
    #: by default: two took 35.7 min for every result on 2 cores (a run's fixed cost and its
    #: population's training, not the trial count, set its time).
    restamp_trials: int = 1

    @property
    def notebook(self) -> Path:
        return ROOT / CHAPTERS[self.chapter]

    @property
    def summary_name(self) -> str:
        return "summary.csv" if self.chapter == "05" else f"summary-ch{self.chapter}.csv"

    def args(self) -> list[str]:
        """The sweep's arguments for this result (without ``--out``, ``--jobs`` and
        ``--scheduler``)."""
        if self.name == "robustness":
            args = robustness_args("-", self.trials, jobs=1)
            for flag in ("--out", "--jobs"):
                i = args.index(flag)
                del args[i:i + 2]
            return args
        if self.chapter == "05":
            args = ["--trials", str(self.trials), "--grid-sizes", *map(str, self.sizes),
                    "--no-figures"]
            if self.trials_per_run is not None:
                args += ["--trials-per-run", str(self.trials_per_run)]
            for name, value in self.parameters:
                args += ["-p", name, value]
            return args
        d = notebook_defaults(self.notebook)
        return ["--chapters", self.chapter, "--grid-sizes", str(d["grid_size"]), "--trials",
                str(d["n_trials"]), "--seed", str(d["seed"]), "--no-figures"]

    def restamp_overrides(self) -> dict:
        """The sweep options that cut this result's recipe down to its re-stamp slice."""
        return {"--trials": [self.restamp_trials]}

    def restamp_slice(self) -> str:
        """The re-stamp's slice in words."""
        last = self.restamp_trials - 1
        trials = "trial 0" if not last else f"trials 0-{last}"
        return f"{trials} of every grid size, specification, method and reading"

    def state(self) -> dict:
        """What this result's fingerprint covers: the code (:func:`codeprint.code_state`),
        the recipe and the numerics."""
        tag = f"reference-{numerics.REFERENCE_VERSION}" if self.numerics == "reference" \
            else self.numerics
        return {**codeprint.code_state(self.notebook), "recipe": self.args(), "numerics": tag}


#: The size ladder's methods: the paper's, and the shuffled-pair control.
LADDER_METHODS = ("scratch", "algorithm1", "algorithm2", "algorithm2_shuffled", "oracle")
#: The size ladder (``book/size_ladder_plan.md``), fixed before its runs: the paper's sizes and
#: 35 and 50, both readings, :data:`LADDER_METHODS`, the budget growing with the cells past
#: 25x25, and the trials the timing pilot allows in 2 hours on 2 cores (the plan's rule).
LADDER = Result("ladder", "the size ladder: chapter 5 at grid sizes 8, 10, 15, 25, 35 and 50, "
                          "both readings, scratch, Algorithm 1, Algorithm 2, the shuffled-pair "
                          "control and the oracle, the budget growing past 25x25, 10 trials",
                "05", trials=10, sizes=(*PAPER_SIZES, 35, 50), trials_per_run=1,
                parameters=(("budget_growth", "cells"),
                            ("methods", "[" + ", ".join(LADDER_METHODS) + "]")))


RESULTS = {r.name: r for r in (
    Result("headline", "the headline sweep: chapter 5 at grid sizes 8, 10, 15 and 25, both "
                       "readings, every method, 30 trials", "05", trials=30),
    Result("robustness", "the robustness study: the book's defaults and every choice of "
                         "chapter 9 varied alone, grid sizes 8, 10, 15 and 25, both readings, "
                         "10 trials", "05", trials=10),
    Result("native", "the robustness study's \"native kernels\" specification: the book's "
                     "defaults computed with the CPU's own kernels, 10 trials", "05",
           trials=10, numerics="native", exact=False),
    Result("ch07", "chapter 7's leave-one-out over every object of both Minigrid rooms at "
                   "its stored parameters", "07"),
    Result("ch08", "chapter 8's leave-one-out settings at its stored parameters", "08"),
    LADDER,
)}


def result(name: str) -> Result:
    """Published result ``name``; ``ValueError`` naming the allowed ones otherwise."""
    if name not in RESULTS:
        raise ValueError(f"unknown published result {name!r}: allowed are "
                         f"{', '.join(RESULTS)}")
    return RESULTS[name]
