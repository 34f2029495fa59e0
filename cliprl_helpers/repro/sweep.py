"""The batch runner: ``python -m cliprl_helpers.repro.sweep`` (chapters 6 and 9).

It executes the experiment notebooks with papermill over grid sizes and *specifications*
(choices of notebook parameters), as tasks on a Dask distributed cluster: by default a
``LocalCluster`` of ``--jobs`` worker processes with one thread each, or an existing cluster
with ``--scheduler ADDRESS``. For chapter 5, each task first trains everything its grid size
needs for every reading, trial and method as one population (into the ``artifacts/`` cache,
:func:`cliprl_helpers.core.experiment.prepare_grid`), then executes the notebook, which finds its
training in the cache. Runs are laid out as::

    <out>/grid-<n>/                       the defaults (chapter 5)
    <out>/<name>=<value>,.../grid-<n>/     a specification set with -p
    <out>/ch07/..., <out>/ch08/...         chapters 7 and 8

each with the executed notebook, ``results.csv``, ``params.json`` and ``finished.json``
(:mod:`cliprl_helpers.repro.runs`). ``<out>/summary.csv`` gathers the results of chapter 5's runs of
this command, with a column ``param_<name>`` per ``-p`` parameter.

* ``--no-figures`` executes the notebooks without storing their figures (same results; the
  robustness study's many runs use it).
* ``-p NAME V1 V2 ...`` gives a parameter several values; the sweep runs the product of all
  ``-p`` values, or with ``--one-at-a-time`` the defaults plus each value alone.
* Finished runs are reused (checked against their checksums); damaged or interrupted runs
  are redone; ``--force`` redoes all.
* One sweep at a time writes into an ``--out`` folder (a second one exits 2).
* Ctrl-C or SIGTERM stops the workers, writes the summary of the finished runs and says how
  to resume. A worker that dies mid-task has its task run again on another worker.
* Bad command lines exit 2 with a message, before anything is trained or written.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import yaml
from tqdm.auto import tqdm

from ..core import checks, numerics
from ..core.artifacts import artifacts_dir, atomic_write, project_root, write_csv
from ..core.config import PARAMETERS, ExperimentConfig
from ..core.dqn import DQNConfig
from ..core.experiment import METHODS
from ..core.minigrid_world import LAYOUTS, layout
from ..core.tasks import READINGS
from . import runs
from .provenance import provenance_file
from .registry import CHAPTERS, PAPER_SIZES, SIZE_RANGE, notebook_defaults
from .runs import Run

#: Notebook parameters the sweep sets itself (they have their own options).
RESERVED = {"grid_size", "readings", "n_trials", "seed", "results_csv", "source"}
LOCK = ".sweep.lock"


#: Seconds between progress lines when nobody watches a terminal (a log file): a line at most
#: this often instead of one per refresh.
LOG_INTERVAL = 30


def progress_interval(stream=None) -> float:
    """tqdm's ``mininterval`` for a progress bar on ``stream`` (default stderr): its usual
    0.1 s on a terminal, :data:`LOG_INTERVAL` seconds in a file or pipe."""
    stream = sys.stderr if stream is None else stream
    return 0.1 if getattr(stream, "isatty", lambda: False)() else LOG_INTERVAL


class SweepError(Exception):
    """A bad command line: reported with exit code 2."""


class _Stop(Exception):
    """SIGINT or SIGTERM arrived."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m cliprl_helpers.repro.sweep",
        description="Run the CLIP-RL experiment notebooks with papermill over grid sizes and "
                    "parameter specifications on a Dask cluster, then gather <out>/summary.csv.")
    p.add_argument("--grid-sizes", nargs="+", type=int, default=list(PAPER_SIZES),
                   metavar="N", help="grid sizes to run (integers >= 4; default: 8 10 15 25)")
    p.add_argument("--trials", type=int, default=10,
                   help="independent trials per grid size and reading (default: 10)")
    p.add_argument("--seed", type=int, default=0, help="first trial seed (default: 0)")
    p.add_argument("--trials-per-run", type=int, default=None, metavar="K",
                   help="chapter 5: split each grid size's trials into runs of at most K "
                        "(consecutive seeds), so that several workers share one size; the "
                        "rows are the same as in one run (default: one run per size)")
    p.add_argument("--readings", nargs="+", default=list(READINGS), metavar="READING",
                   help=f"target readings: {', '.join(READINGS)} (default: both)")
    p.add_argument("--chapters", nargs="+", default=["05"], metavar="CH",
                   help=f"chapters to run: {', '.join(CHAPTERS)} (default: 05)")
    p.add_argument("-p", "--parameter", nargs="+", action="append", default=[],
                   metavar="NAME VALUE",
                   help="a notebook parameter and one or more values (repeatable; values are "
                        "read as YAML), e.g. -p weighting paper top1; the sweep runs every "
                        "combination of the values given")
    p.add_argument("--one-at-a-time", action="store_true",
                   help="instead of every combination, run the defaults and each -p value "
                        "alone (one-factor variations around the defaults)")
    p.add_argument("--jobs", type=int, default=1,
                   help="worker processes of the local Dask cluster (default: 1)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on an existing Dask cluster (e.g. tcp://10.0.0.5:8786) instead "
                        "of a local one; workers must see --out and the artifacts/ cache at "
                        "the same paths")
    p.add_argument("--out", default="runs", help="output directory (default: runs/)")
    p.add_argument("--force", action="store_true", help="redo runs that are already finished")
    p.add_argument("--no-figures", action="store_true",
                   help="store the executed notebooks without their figures (faster; the "
                        "results are the same; the robustness study uses it)")
    return p


def _read_value(text: str):
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def check_value(chapter: str, name: str, value, default, size: int) -> None:
    """``ValueError`` if ``value`` is not allowed for notebook parameter ``name`` of
    ``chapter`` (checked by the package's own validators, before anything runs)."""

    if name in PARAMETERS:
        ExperimentConfig.from_parameters(**{name: value})
    elif name == "budget_steps":
        DQNConfig(budget_steps=value)
    elif name == "held_out":

        checks.choice("held_out", value, list(layout("by_colour", size)))
    elif isinstance(default, bool) or isinstance(value, bool):
        checks.flag(name, value)
    elif isinstance(default, int):
        checks.integer(name, value)
    elif isinstance(default, float):
        checks.real(name, value)
    elif not isinstance(value, type(default)):
        raise ValueError(f"{name} must be a {type(default).__name__} like its default "
                         f"{default!r}, got {value!r}")


def specifications(grid: dict[str, list], defaults: dict, one_at_a_time: bool) -> list[dict]:
    """The ``-p`` choices to run, each as ``{name: value}`` without values equal to the
    default (``{}`` is the defaults themselves); no duplicates, in a stable order."""
    if one_at_a_time:
        specs = [{}] + [{k: v} for k, vs in grid.items() for v in vs]
    else:
        specs = [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]
    out: list[dict] = []
    for s in specs:
        s = {k: v for k, v in sorted(s.items()) if v != defaults.get(k)}
        if s not in out:
            out.append(s)
    return out


def spec_name(spec: dict) -> str:
    """A folder name for a specification: ``name=value,...`` (``""`` for the defaults)."""
    def text(v):
        return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))

    name = ",".join(f"{k}={text(v)}" for k, v in sorted(spec.items()))
    return re.sub(r"[^A-Za-z0-9_.,=+\-\[\]]", "_", name)


def plan(args: argparse.Namespace, root: Path) -> list[Run]:
    """Validate the command line and return the runs; raises :class:`SweepError`."""
    try:
        sizes = [checks.integer("grid size", n, low=4) for n in args.grid_sizes]
        checks.positive_int("--trials", args.trials)
        checks.integer("--seed", args.seed, low=0)
        if args.trials_per_run is not None:
            checks.positive_int("--trials-per-run", args.trials_per_run)
        checks.positive_int("--jobs", args.jobs)
    except ValueError as e:
        raise SweepError(str(e).replace("grid size must", "grid sizes must")) from None
    bad = [r for r in args.readings if r not in READINGS]
    if bad:
        raise SweepError(f"unknown reading(s) {bad}: allowed are {', '.join(READINGS)}")
    bad = [c for c in args.chapters if c not in CHAPTERS]
    if bad:
        raise SweepError(f"unknown chapter(s) {bad}: allowed are {', '.join(CHAPTERS)}")
    for ch in args.chapters:
        lo, hi = SIZE_RANGE[ch]
        bad = [n for n in sizes if not lo <= n <= hi]
        if bad:
            raise SweepError(f"grid size(s) {bad} not allowed for chapter {ch}: sizes {lo}..{hi}")
    out = Path(args.out)
    for parent in (out, *out.parents):
        if parent.exists() and not parent.is_dir():
            raise SweepError(f"--out {out}: {parent} is a file; give a directory")
    out = out.resolve()

    grid: dict[str, list] = {}
    for name, *values in args.parameter:
        if not values:
            raise SweepError(f"-p {name} needs at least one value")
        if name in grid:
            raise SweepError(f"-p {name} is given twice: put all its values after one -p")
        grid[name] = [_read_value(v) for v in values]
    defaults = {ch: notebook_defaults(root / CHAPTERS[ch]) for ch in args.chapters}
    settable = set().union(*map(set, defaults.values())) - RESERVED
    unknown = [n for n in grid if n not in settable]
    if unknown or any(n in RESERVED for n in grid):
        raise SweepError(
            f"unknown parameter(s) {unknown or [n for n in grid if n in RESERVED]} for "
            f"chapter(s) {', '.join(args.chapters)}: allowed are {', '.join(sorted(settable))} "
            f"(grid sizes, readings, trials and seed have their own options)")
    readings = list(dict.fromkeys(args.readings))
    artifacts = str(artifacts_dir().resolve())
    mode = numerics.mode()
    todo: list[Run] = []
    for ch in args.chapters:
        nb, dflt = root / CHAPTERS[ch], defaults[ch]
        own = {k: v for k, v in grid.items() if k in dflt}
        for k, vs in own.items():
            for v in vs:
                try:
                    check_value(ch, k, v, dflt[k], max(sizes))
                except ValueError as e:
                    raise SweepError(f"-p {k} {v!r}: {e}") from None
        code = runs.code_fingerprint(nb)
        for spec in specifications(own, dflt, args.one_at_a_time):
            base = out / (f"ch{ch}" if ch != "05" else "") / spec_name(spec)
            for n, first, trials in ((n, first, trials) for n in dict.fromkeys(sizes)
                                     for first, trials in _chunks(args, ch)):
                params = {"grid_size": n, "n_trials": trials, "seed": args.seed + first,
                          **spec}
                if "source" in dflt:  # a chapter that can show published rows computes them
                    params["source"] = "compute"
                rows = None
                if ch == "05":
                    params["readings"] = readings
                    rows = len(readings) * trials * len(params.get("methods") or METHODS)
                elif ch == "07":  # both layouts, every object held out, every method

                    rows = len(LAYOUTS) * len(layout("by_colour", n)) * args.trials * \
                        len(METHODS)
                folder = base / f"grid-{n}"
                if trials != args.trials:
                    folder = folder / f"trials-{first}-{first + trials - 1}"
                todo.append(Run(chapter=ch, notebook=nb, dir=folder, first_trial=first,
                                params=params, spec=spec, expected_rows=rows,
                                artifacts=artifacts, code=code,
                                figures=not args.no_figures, numerics=mode))
    return sorted(todo, key=lambda r: -r.params["grid_size"])  # longest first


def _chunks(args: argparse.Namespace, chapter: str) -> list[tuple[int, int]]:
    """``(first trial, trials)`` of each run of one grid size: every trial in one run, or
    (chapter 5 with ``--trials-per-run K``) consecutive runs of at most ``K``."""
    k = args.trials_per_run
    if k is None or chapter != "05" or k >= args.trials:
        return [(0, args.trials)]
    return [(a, min(k, args.trials - a)) for a in range(0, args.trials, k)]


def gather(todo: list[Run], out: Path) -> list[Path]:
    """Write ``summary.csv`` (chapter 5) and ``summary-chNN.csv`` from the finished runs of
    ``todo``, with a column ``param_<name>`` per ``-p`` parameter, each with its provenance
    beside it (``provenance.json``, ``provenance-chNN.json``: :func:`provenance`); returns
    the files written."""

    written = []
    for ch in CHAPTERS:
        mine = [r for r in todo if r.chapter == ch and runs.is_finished(r, warn=False)]
        if not mine:
            continue
        names = sorted({k for r in todo if r.chapter == ch for k in r.spec})
        dflt = notebook_defaults(mine[0].notebook) if names else {}
        tables = []
        for r in sorted(mine, key=lambda r: (spec_name(r.spec), r.params["grid_size"],
                                             r.first_trial)):
            t = pd.read_csv(r.dir / "results.csv")
            t["trial"] += r.first_trial  # a run of later trials counts its own from 0
            for k in names:  # prefixed: a results column may share the name (weighting)
                v = r.spec.get(k, dflt.get(k))
                t[f"param_{k}"] = v if not isinstance(v, (list, dict)) else json.dumps(v)
            tables.append(t)
        name = "summary.csv" if ch == "05" else f"summary-ch{ch}.csv"
        written.append(write_csv(pd.concat(tables, ignore_index=True), out / name))
        prov = provenance_file(out / name)
        atomic_write(prov, json.dumps(sweep_provenance(mine, name), indent=1,
                                      sort_keys=True).encode())
        written.append(prov)
    return written


def small_run(out: str | Path, args, module: str = "cliprl_helpers.repro.sweep"):
    """Run ``python -m <module> --out <out> <args ...>`` now (finished runs are reused; it
    prints that it does so) and return ``(table, summary path)``. A failed run raises
    ``RuntimeError`` with its messages."""

    cmd = [sys.executable, "-m", module, "--out", str(out), *map(str, args)]
    print(f"running python -m {module} {' '.join(cmd[3:])}")
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed with exit code {done.returncode}:\n"
                           f"{done.stderr[-3000:]}")
    source = Path(out) / "summary.csv"
    return pd.read_csv(source), source


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse itself exits 2 on malformed options
    root = project_root(Path(__file__).resolve().parent)

    def usage_error(message: str) -> int:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        return 2

    try:
        todo = plan(args, root)
        out = Path(args.out).resolve()
        try:
            out.mkdir(parents=True, exist_ok=True)
            probe = out / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise SweepError(f"--out {args.out} cannot be written: {e.strerror or e}") from None
    except SweepError as e:
        return usage_error(str(e))
    if args.scheduler and args.jobs != 1:
        print("sweep: --jobs is ignored with --scheduler (the cluster has its workers)",
              file=sys.stderr)
    try:
        with runs.locked(out / LOCK, wait=False):
            return _run(args, root, out, todo)
    except BlockingIOError:
        return usage_error(f"another sweep (pid {runs.lock_holder(out / LOCK)}) is writing "
                           f"to {out}; wait for it to finish or give another --out")
    except SweepError as e:
        return usage_error(str(e))


def _run(args, root: Path, out: Path, todo: list[Run]) -> int:
    # lazy: Dask takes seconds to import; only a sweep that has runs to execute needs it
    from . import cluster as engine_of

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", runs.RunDamaged)
        pending = [r for r in todo if args.force or not runs.is_finished(r)]
    for w in caught:
        print(f"sweep: {w.message}", file=sys.stderr)
    engine = f"Dask scheduler {args.scheduler}" if args.scheduler else \
        f"a local Dask cluster of {args.jobs} worker(s)"
    print(f"sweep: {len(todo)} notebook runs, {len(todo) - len(pending)} already finished, "
          f"{len(pending)} to run on {engine} -> {out}/", flush=True)
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def on_signal(signum, frame):
        raise _Stop(signum)

    t0, failures, client, cluster, futures = time.perf_counter(), [], None, None, []
    try:
        for s in previous:
            signal.signal(s, on_signal)
        if pending:
            try:
                client, cluster = engine_of.start(args.scheduler, args.jobs)
            except engine_of.ClusterError as e:
                raise SweepError(str(e)) from None
            futures = [client.submit(runs.execute, r, root, pure=False, key=task_key(r, i))
                       for i, r in enumerate(pending)]
            with tqdm(total=len(futures), desc="sweep", unit="run",
                      mininterval=progress_interval()) as bar:
                for fut in engine_of.as_completed(futures):
                    try:
                        res = fut.result()
                        bar.write(f"  done {res['label']} in {res['seconds']:6.1f} s"
                                  + (" (finished by another worker)" if res["reused"] else ""))
                    except Exception as e:  # noqa: BLE001 - report every failure, keep going
                        failures.append(str(e))
                        bar.write(f"  FAILED: {e}")
                    bar.update(1)
    except _Stop as stop:
        children = engine_of.children()
        print(f"\nsweep: stopped by {stop}; stopping the workers ...", file=sys.stderr,
              flush=True)
        engine_of.stop(client, cluster, futures, children)
        done = sum(runs.is_finished(r, warn=False) for r in todo)
        written = gather(todo, out)
        print(f"sweep: {done} of {len(todo)} runs are finished"
              + (f"; partial summary: {', '.join(map(str, written))}" if written else "")
              + ". Run the same command again to resume: finished runs are reused, "
                "interrupted ones redone.", file=sys.stderr, flush=True)
        return 128 + stop.signum
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    if client is not None:
        client.close()
    if cluster is not None:
        cluster.close()
    written = gather(todo, out)
    print(f"sweep: total wall time {time.perf_counter() - t0:.1f} s"
          + (f"; summary: {', '.join(map(str, written))}" if written else ""), flush=True)
    if failures:
        print(f"sweep: {len(failures)} run(s) failed:\n  " + "\n  ".join(failures),
              file=sys.stderr)
        return 1
    return 0


def task_key(run: Run, i: int) -> str:
    """The Dask key of the ``i``-th pending run: readable, and unique on a cluster that runs
    several sweeps at once (Dask treats two tasks of one key as one: the same run of two
    sweeps into different folders would otherwise execute once)."""
    where = hashlib.sha256(str(run.dir).encode()).hexdigest()[:10]
    return (f"run-{i}-{spec_name(run.spec) or 'defaults'}-ch{run.chapter}-grid-"
            f"{run.params['grid_size']}-{where}")


def sweep_provenance(finished: list[Run], summary: str) -> dict:
    """How the numbers of a summary were computed, from what its runs recorded: the numerics
    mode and path(s), the machines, and the versions and commit of the code
    (:func:`cliprl_helpers.repro.provenance.provenance` of each run's worker, deduplicated),
    and the wall-clock seconds each run took (``run_seconds``, by run label)."""
    made = [runs.run_numerics(r) for r in finished]
    first = next((m for m in made if m), {})
    keys = ("package_version", "trainer_version", "git_commit", "torch", "mkl", "onednn",
            "python")
    return {
        "summary": summary, "runs": len(finished),
        "numerics": sorted({m.get("numerics", "unrecorded") for m in made}),
        "cache_tags": sorted({m.get("cache_tag", "unrecorded") for m in made}),
        "guaranteed": all(m.get("guaranteed", False) for m in made),
        "cpus": sorted({(m.get("kernel_path") or {}).get("cpu", {}).get("model", "?")
                        for m in made}),
        "threads": sorted({m.get("threads") for m in made if m.get("threads") is not None}),
        **{k: sorted({str(m.get(k)) for m in made}) if len({str(m.get(k)) for m in made}) > 1
           else first.get(k) for k in keys},
        "description": first.get("description", ""),
        "run_seconds": {r.label: runs.run_seconds(r) for r in finished},
    }


if __name__ == "__main__":
    sys.exit(main())
