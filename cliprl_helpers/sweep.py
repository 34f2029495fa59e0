"""The papermill batch runner: ``python -m cliprl_helpers.sweep`` (chapter 6).

For each grid size it first trains everything the experiment needs at that size, every
reading, trial and method, as one base population and one merged fine-tuning population
(:func:`cliprl_helpers.experiment.prepare_grid`, into the ``artifacts/`` cache), then executes
the experiment notebook (``notebooks/05_clip_transfer.ipynb``) with papermill for all the
readings, which finds its training in the cache. It writes

    <out>/grid-<n>/05_clip_transfer.ipynb   the executed notebook
    <out>/grid-<n>/results.csv              its results table
    <out>/grid-<n>/params.json              the parameters that produced them

and gathers every results table into ``<out>/summary.csv``. A grid size whose three files
exist with the same parameters is skipped (``--force`` reruns it). Grid sizes run in
parallel worker processes (``--jobs``), largest first. Files are written
under temporary names and renamed on success, so an interrupted run leaves nothing that
looks finished; a failing notebook is kept as ``*.failed.ipynb`` and the sweep exits 1.
Bad command lines exit 2 with a message and write nothing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from .artifacts import atomic_write, project_root
from .tasks import READINGS

DEFAULT_SIZES = (8, 10, 15, 25)
#: Chapters the sweep can run: name -> notebook. "05" runs per (grid size, reading); the
#: optional chapters beyond the paper run per grid size under <out>/ch<name>/.
CHAPTERS = {"05": "notebooks/05_clip_transfer.ipynb",
            "07": "notebooks/07_colour_world.ipynb",
            "08": "notebooks/08_when_alignment_helps.ipynb"}
#: Allowed grid sizes per chapter (inclusive).
SIZE_RANGE = {"05": (4, 10_000), "07": (8, 10_000), "08": (2, 24)}


class SweepError(Exception):
    """A bad command line: reported with exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m cliprl_helpers.sweep",
        description="Run the CLIP-RL experiment notebooks with papermill over grid sizes and "
                    "target readings, then gather runs/summary.csv.")
    p.add_argument("--grid-sizes", nargs="+", type=int, default=list(DEFAULT_SIZES),
                   metavar="N", help="grid sizes to run (integers >= 4; default: 8 10 15 25)")
    p.add_argument("--trials", type=int, default=10,
                   help="independent trials per grid size and reading (default: 10)")
    p.add_argument("--seed", type=int, default=0, help="first trial seed (default: 0)")
    p.add_argument("--readings", nargs="+", default=list(READINGS), metavar="READING",
                   help=f"target readings: {', '.join(READINGS)} (default: both)")
    p.add_argument("--chapters", nargs="+", default=["05"], metavar="CH",
                   help=f"chapters to run: {', '.join(CHAPTERS)} (default: 05)")
    p.add_argument("--jobs", type=int, default=1,
                   help="notebooks run in parallel processes (default: 1)")
    p.add_argument("--out", default="runs", help="output directory (default: runs/)")
    p.add_argument("--force", action="store_true",
                   help="rerun (grid size, reading) pairs that are already finished")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"),
                   help="extra notebook parameter passed to papermill (repeatable); the "
                        "value is read as YAML, e.g. -p weighting softmax")
    return p


def _notebook_parameters(path: Path) -> dict:
    import papermill

    return papermill.inspect_notebook(str(path))


def plan(args: argparse.Namespace, root: Path) -> list[dict]:
    """Validate the command line and return the jobs; raises :class:`SweepError`."""
    bad = [n for n in args.grid_sizes if n < 4]
    if bad:
        raise SweepError(f"grid size(s) {bad} too small: the paper's task set needs sizes >= 4")
    if args.trials < 1:
        raise SweepError(f"--trials must be a positive integer, got {args.trials}")
    if args.jobs < 1:
        raise SweepError(f"--jobs must be a positive integer, got {args.jobs}")
    bad = [r for r in args.readings if r not in READINGS]
    if bad:
        raise SweepError(f"unknown reading(s) {bad}: allowed are {', '.join(READINGS)}")
    bad = [c for c in args.chapters if c not in CHAPTERS]
    if bad:
        raise SweepError(f"unknown chapter(s) {bad}: allowed are {', '.join(CHAPTERS)}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise SweepError(f"--out {out} is a file; give a directory")
    out = out.resolve()
    import yaml

    extra = {}
    for name, value in args.parameter:
        try:
            extra[name] = yaml.safe_load(value)
        except yaml.YAMLError:
            extra[name] = value
    jobs = []
    for ch in args.chapters:
        lo, hi = SIZE_RANGE[ch]
        bad = [n for n in args.grid_sizes if not lo <= n <= hi]
        if bad:
            raise SweepError(f"grid size(s) {bad} not allowed for chapter {ch}: sizes "
                             f"{lo}..{hi}")
    reserved = {"grid_size", "readings", "n_trials", "seed", "results_csv"}
    params_of = {ch: set(_notebook_parameters(root / CHAPTERS[ch])) for ch in args.chapters}
    settable = set().union(*params_of.values()) - reserved
    unknown = [n for n in extra if n not in settable]
    if unknown:
        raise SweepError(
            f"unknown parameter(s) {unknown} for chapter(s) {', '.join(args.chapters)}: "
            f"allowed are {', '.join(sorted(settable))} (grid size, readings, trials and seed "
            f"have their own options)")
    for ch in args.chapters:
        nb = root / CHAPTERS[ch]
        allowed = params_of[ch]
        for n in dict.fromkeys(args.grid_sizes):
            if ch != "05":
                params = {"grid_size": n, "n_trials": args.trials, "seed": args.seed,
                          **{k: v for k, v in extra.items() if k in allowed}}
                jobs.append({"chapter": ch, "notebook": nb,
                             "dir": out / f"ch{ch}" / f"grid-{n}", "params": params})
                continue
            params = {"grid_size": n, "readings": list(dict.fromkeys(args.readings)),
                      "n_trials": args.trials, "seed": args.seed,
                      **{k: v for k, v in extra.items() if k in allowed}}
            jobs.append({"chapter": ch, "notebook": nb, "dir": out / f"grid-{n}",
                         "params": params})
    return sorted(jobs, key=lambda j: -j["params"]["grid_size"])  # longest first


def is_finished(job: dict) -> bool:
    d = job["dir"]
    files = [d / Path(job["notebook"]).name, d / "results.csv", d / "params.json"]
    if not all(f.is_file() for f in files):
        return False
    try:
        return json.loads((d / "params.json").read_text()) == job["params"]
    except json.JSONDecodeError:
        return False


def run_job(job: dict, root: Path) -> float:
    """Execute one notebook; returns its wall seconds. Raises RuntimeError on failure."""
    import papermill

    d: Path = job["dir"]
    d.mkdir(parents=True, exist_ok=True)
    name = Path(job["notebook"]).name
    for f in (d / name, d / "results.csv", d / "params.json"):
        f.unlink(missing_ok=True)  # whatever was there is not finished any more
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"  # never shared with another sweep
    tmp_nb = d / f".{Path(name).stem}.{tag}.running.ipynb"
    tmp_csv = d / f".results.{tag}.running.csv"
    params = {**job["params"], "results_csv": str(tmp_csv.resolve())}
    t0 = time.perf_counter()
    if job["chapter"] == "05":
        try:
            _prepare(job["params"])
        except Exception:  # noqa: BLE001 - the notebook meets the same error and records it
            pass
    try:
        papermill.execute_notebook(str(job["notebook"]), str(tmp_nb), parameters=params,
                                   cwd=str(root / "notebooks"), progress_bar=False,
                                   kernel_name="python3")
    except Exception as e:  # papermill raises PapermillExecutionError with the traceback
        failed = d / name.replace(".ipynb", ".failed.ipynb")
        if tmp_nb.exists():
            tmp_nb.replace(failed)
        tmp_csv.unlink(missing_ok=True)
        raise RuntimeError(f"{job['notebook'].name} failed for {job['params']}: "
                           f"{type(e).__name__}; the traceback is in {failed}") from None
    tmp_csv.replace(d / "results.csv")
    tmp_nb.replace(d / name)
    atomic_write(d / "params.json", json.dumps(job["params"], sort_keys=True).encode())
    return time.perf_counter() - t0


def _prepare(params: dict) -> None:
    """Train (or find) everything chapter 5 will ask for with ``params``, in as few
    populations as possible (the notebook then loads it from the cache)."""
    from .experiment import prepare_grid

    kwargs = {k: v for k, v in params.items()
              if k not in ("grid_size", "readings", "results_csv")}
    prepare_grid(params["grid_size"], params["readings"], progress=False, **kwargs)


def gather(out: Path) -> Path | None:
    """Concatenate every ``results.csv`` under ``out`` into ``out/summary.csv``."""
    import pandas as pd

    from .experiment import write_csv

    for ch in CHAPTERS:
        if ch != "05":
            files = sorted(out.glob(f"ch{ch}/grid-*/results.csv"))
            if files:
                write_csv(pd.concat([pd.read_csv(f) for f in files], ignore_index=True),
                          out / f"summary-ch{ch}.csv")
    files = sorted(out.glob("grid-*/results.csv"),
                   key=lambda f: int(f.parent.name.removeprefix("grid-")))
    if not files:
        return None
    table = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    return write_csv(table, out / "summary.csv")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse itself exits 2 on malformed options
    root = project_root(Path(__file__).resolve().parent)
    try:
        jobs = plan(args, root)
    except SweepError as e:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 2
    from tqdm.auto import tqdm

    out = Path(args.out)
    todo = [j for j in jobs if args.force or not is_finished(j)]
    print(f"sweep: {len(jobs)} notebook runs (one per chapter and grid size), "
          f"{len(jobs) - len(todo)} already finished, {len(todo)} to run with {args.jobs} "
          f"job(s) -> {out}/", flush=True)
    if args.jobs > 1:  # share the cores between the kernels
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // args.jobs)))
    t0, failures = time.perf_counter(), []
    with tqdm(total=len(todo), desc="sweep", unit="notebook") as bar, \
            ProcessPoolExecutor(max_workers=args.jobs,
                                mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(run_job, j, root): j for j in todo}
        for fut in as_completed(futures):
            j = futures[fut]
            try:
                secs = fut.result()
                bar.write(f"  done chapter {j['chapter']}, grid {j['params']['grid_size']:>3} "
                          f"in {secs:6.1f} s")
            except Exception as e:  # noqa: BLE001 - report every failure, keep going
                failures.append(str(e))
                bar.write(f"  FAILED: {e}")
            bar.update(1)
    summary = gather(out) if out.is_dir() else None
    total = time.perf_counter() - t0
    print(f"sweep: total wall time {total:.1f} s"
          + (f"; summary: {summary}" if summary else ""), flush=True)
    if failures:
        print(f"sweep: {len(failures)} notebook(s) failed:\n  " + "\n  ".join(failures),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
