"""Recompute the published results and compare or write them
(``python -m cliprl_helpers.repro.reproduce``; ``make reproduce``, ``make publish``,
``make results-status``).

``reproduce`` and ``publish`` compute from an empty cache of their own,
``runs/reproduce/<code fingerprint>/`` (a new code state starts empty; the same one resumes
after Ctrl-C: finished runs are reused), on a local Dask cluster of ``--jobs`` workers or an
existing one (``--scheduler ADDRESS``), with the sweep (:mod:`cliprl_helpers.repro.sweep`)
and each result's recipe (:mod:`cliprl_helpers.repro.registry`); every recomputed table is
compared row by row with the published one (:mod:`cliprl_helpers.repro.compare`)::

    python -m cliprl_helpers.repro.reproduce status      # which results are current
    python -m cliprl_helpers.repro.reproduce reproduce   # recompute all, compare row by row
    python -m cliprl_helpers.repro.reproduce publish     # recompute all, write results/
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import yaml
from tqdm.auto import tqdm

from ..core import numerics
from ..core.artifacts import atomic_write
from . import codeprint, registry
from .compare import Comparison, as_text, compare, key_order, split_timing
from .provenance import git_commit, provenance_file
from .published import MANIFEST, RESULTS_DIR, describe, load, manifest, problem, sha256
from .registry import RESULTS, ROOT, Result, notebook_defaults
from .sweep import build_parser, plan, progress_interval


def work_dir(base: str | Path | None = None) -> Path:
    """``runs/reproduce/<fingerprint of the computing code>``: a new code state starts from
    an empty cache, the same one resumes."""
    base = Path(base) if base is not None else ROOT / "runs" / "reproduce"
    return base / codeprint.fingerprint(codeprint.code_state())[:12]


def sweep_command(result: Result, out: Path, jobs: int, scheduler: str | None,
                  overrides: dict | None = None) -> list[str]:
    """The command line that computes ``result`` into ``out`` (``overrides``: replace the
    values of options such as ``--grid-sizes`` or ``--trials``, for a slice)."""
    args = result.args()
    for flag, values in (overrides or {}).items():
        i = args.index(flag)
        j = i + 1
        while j < len(args) and not args[j].startswith("-"):
            j += 1
        args[i:j] = [flag, *map(str, values)]
    engine = ["--scheduler", scheduler] if scheduler and result.exact else \
        ["--jobs", str(jobs)]
    return [sys.executable, "-m", "cliprl_helpers.repro.sweep", "--out", str(out), *args, *engine]


def _sweep_process(name: str, work: Path, jobs: int, scheduler: str | None,
                   overrides: dict | None = None, log: Path | None = None):
    """Start the sweep of result ``name`` (see :func:`recompute`); returns the process and
    its command line."""
    result = registry.result(name)
    env = numerics.child_environment(result.numerics,
                                     CLIPRL_ARTIFACTS=str(Path(work) / "artifacts"))
    cmd = sweep_command(result, Path(work) / name, jobs, scheduler, overrides)
    out = open(log, "w") if log is not None else None  # noqa: SIM115 - closed by the caller
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=out), cmd, out


def _table_of(name: str, work: Path, proc, cmd) -> pd.DataFrame:
    if proc.returncode:
        raise RuntimeError(f"the sweep of {name} stopped with exit code {proc.returncode}: "
                           f"{' '.join(cmd[1:])}")
    return pd.read_csv(Path(work) / name / registry.result(name).summary_name, dtype=str,
                       keep_default_na=False)


def recompute(name: str, work: Path, jobs: int = 2, scheduler: str | None = None,
              overrides: dict | None = None) -> pd.DataFrame:
    """Run the sweep of result ``name`` into ``work/<name>`` with the training cache
    ``work/artifacts`` (its progress bar on the terminal) and return its table (every
    column, every cell as its CSV text). Raises ``RuntimeError`` if the sweep fails."""
    proc, cmd, _ = _sweep_process(name, work, jobs, scheduler, overrides)
    proc.wait()
    return _table_of(name, work, proc, cmd)


def _planned_runs(name: str, work: Path, overrides: dict | None = None) -> list:
    cmd = sweep_command(registry.result(name), Path(work) / name, 1, None, overrides)
    return plan(build_parser().parse_args(cmd[3:]), ROOT)


def recompute_together(names: list[str], work: Path, overrides: dict | None = None,
                       scheduler: str | None = None) -> dict[str, pd.DataFrame]:
    """Run the sweeps of several results at once, each logging to ``work/<name>.log``, under
    one progress bar of finished runs: one worker each (small results, whose runs are fewer
    than the cores: one at a time would leave cores idle), or all on the Dask ``scheduler``
    (the results of reference numerics; the others on a worker of their own).
    ``overrides``: ``{name: {option: values}}``, see :func:`sweep_command`."""

    overrides = overrides or {}
    planned = {n: _planned_runs(n, work, overrides.get(n)) for n in names}
    started = {n: _sweep_process(n, work, 1, scheduler, overrides.get(n),
                                 log=Path(work) / f"{n}.log") for n in names}
    total = sum(map(len, planned.values()))
    try:
        with tqdm(total=total, desc=" + ".join(names), unit="run",
                  mininterval=progress_interval()) as bar:
            while True:
                done = sum((r.dir / "finished.json").is_file()
                           for runs_ in planned.values() for r in runs_)
                bar.update(done - bar.n)
                if all(p.poll() is not None for p, _, _ in started.values()):
                    break
                time.sleep(2)
    finally:
        for proc, _, log in started.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
    return {n: _table_of(n, work, p, cmd) for n, (p, cmd, _) in started.items()}


#: The order ``reproduce`` computes in; the results of one stage run at the same time.
STAGES = (("headline",), ("robustness",), ("native", "ch07", "ch08"), ("ladder",))


def write(name: str, table: pd.DataFrame, provenance: dict,
          results_dir: Path = RESULTS_DIR) -> dict:
    """Publish ``table`` (a sweep's summary) as result ``name``: its data and timing files
    and its manifest entry (every file written atomically); returns the entry."""
    result = registry.result(name)
    if result.exact and not provenance.get("guaranteed"):
        raise ValueError(f"{name} must be computed in reference numerics with the same bits on "
                         f"every x86-64 CPU; its runs say: {provenance.get('description')}")
    data, timing = split_timing(as_text(table))
    order = key_order(data)  # rows in key order, in both files
    data = data.loc[order].reset_index(drop=True)
    timing = timing.loc[order].reset_index(drop=True)
    results_dir = Path(results_dir)
    files = {f"{name}.csv": data.to_csv(index=False).encode(),
             f"{name}-timing.csv": timing.to_csv(index=False).encode()}
    for fname, blob in files.items():
        atomic_write(results_dir / fname, blob)
    state = result.state()
    entry = {"title": result.title, "file": f"{name}.csv",
             "sha256": sha256(files[f"{name}.csv"]), "timing_file": f"{name}-timing.csv",
             "timing_sha256": sha256(files[f"{name}-timing.csv"]), "rows": len(data),
             "columns": list(data.columns), "chapter": result.chapter,
             "recipe": "python -m cliprl_helpers.repro.sweep " + " ".join(result.args()),
             "numerics": result.numerics, "params": notebook_params(result),
             "fingerprint": codeprint.fingerprint(state),
             "state": state, "provenance": provenance,
             "computed": today()}
    m = manifest(results_dir)
    m["results"][name] = entry
    m["results"] = {k: m["results"][k] for k in RESULTS if k in m["results"]}
    atomic_write(results_dir / MANIFEST, (json.dumps(m, indent=1, sort_keys=False) + "\n")
                 .encode())
    return entry


def recipe_changes(name: str, results_dir: Path = RESULTS_DIR) -> list[str]:
    """How the recipe of published result ``name`` (its sweep arguments: sizes, trials,
    ``-p`` parameters; its numerics; its notebook's parameters) differs from the one it was
    computed with; ``[]``: the same recipe."""
    result = registry.result(name)
    entry = manifest(results_dir)["results"][name]
    old, new = entry.get("state", {}), result.state()
    out = [f"{part} {old.get(part)!r} -> {new[part]!r}" for part in ("recipe", "numerics")
           if old.get(part) != new[part]]
    was, now = entry.get("params") or {}, json.loads(json.dumps(notebook_params(result)))
    out += [f"notebook parameter {k} {was.get(k, 'absent')!r} -> {now.get(k, 'absent')!r}"
            for k in sorted(set(was) | set(now)) if was.get(k) != now.get(k)]
    return out


def update_entry(name: str, change: Callable[[dict], None],
                 results_dir: Path = RESULTS_DIR) -> None:
    """Apply ``change`` to the manifest entry of ``name`` and write the manifest atomically."""
    m = manifest(results_dir)
    change(m["results"][name])
    atomic_write(Path(results_dir) / MANIFEST,
                 (json.dumps(m, indent=1, sort_keys=False) + "\n").encode())


def mark_recomputed(name: str, results_dir: Path = RESULTS_DIR) -> str:
    """After a full recompute found every row of ``name`` identical: record this code's
    fingerprint as the one its rows are current for (a re-stamp is then superseded and
    dropped), with the commit and date of the recompute. Returns what it did, in a line."""
    changed = recipe_changes(name, results_dir)
    if changed:
        return (f"{name}: its recipe changed since it was published ({'; '.join(changed)}); "
                f"`make publish ONLY={name}` writes it")
    result = registry.result(name)
    state = result.state()

    def change(entry: dict) -> None:
        entry["fingerprint"], entry["state"] = codeprint.fingerprint(state), state
        entry["recomputed"] = {"commit": git_commit(ROOT), "date": today()}
        entry.pop("restamp", None)

    update_entry(name, change, results_dir)
    return f"{name}: recorded as current by this full recompute (results/manifest.json)"


def today() -> str:
    return datetime.date.today().isoformat()


def notebook_params(result: Result) -> dict:
    """The chapter notebook's parameters a result was computed with: its defaults, with the
    grid size and trials of the recipe (without the sweep's own ``results_csv``/``source``)."""

    params = {k: v for k, v in notebook_defaults(result.notebook).items()
              if k not in ("results_csv", "source")}
    if result.trials is not None:
        params["n_trials"] = result.trials
    params.update({k: yaml.safe_load(v) for k, v in result.parameters})  # the recipe's -p
    return params


def reproduce_slice(name: str, work: Path, grid_sizes, trials: int, jobs: int = 1,
                    results_dir: Path = RESULTS_DIR) -> Comparison:
    """Recompute the rows of published result ``name`` for ``grid_sizes`` and trials
    ``0 .. trials-1`` from nothing (an empty cache in ``work``) and compare them with the
    published ones (what ``make test`` does for the 8x8 rows of the headline sweep)."""
    pub = load(name, results_dir)
    pub = pub[pub.grid_size.isin([int(n) for n in grid_sizes]) & (pub.trial < trials)]
    table = recompute(name, work, jobs, overrides={"--grid-sizes": list(grid_sizes),
                                                   "--trials": [trials]})
    return compare(name, pub, split_timing(table)[0])


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m cliprl_helpers.repro.reproduce",
        description="The book's published results (results/): check, recompute, publish.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="say which published results are current (exit 2 if any "
                                  "is missing, damaged or stale)")
    for cmd, what in (("reproduce", "recompute every published result from an empty cache "
                                    "and compare it row by row with results/ (exit 1 on a "
                                    "difference)"),
                      ("publish", "recompute every published result and write results/")):
        s = sub.add_parser(cmd, help=what, description=what)
        s.add_argument("--only", nargs="+", default=list(RESULTS), metavar="NAME",
                       help=f"results to recompute ({', '.join(RESULTS)}; default: all)")
        s.add_argument("--jobs", type=int, default=2, help="local Dask workers (default 2)")
        s.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="an existing Dask scheduler (workers must see runs/ at the same "
                            "path); the native-kernels result always runs locally")
        s.add_argument("--work", default=None, metavar="DIR",
                       help="where to compute (default: runs/reproduce/<code fingerprint>)")
    return p


def status_report(results_dir: Path = RESULTS_DIR) -> tuple[str, bool]:
    """One line per result and whether all are current."""
    lines, ok = [], True
    for name in RESULTS:
        why = problem(name, results_dir)
        ok &= not why
        lines.append(f"{name}: " + (f"current: {describe(name, results_dir)}" if not why
                                   else f"NOT CURRENT: {why}"))
    if not ok:
        lines.append("`make reproduce` recomputes every published result and reports, row by "
                     "row, whether any number changed; `make publish` writes the recomputed "
                     "results into results/ (both from an empty cache; `make reproduce "
                     "ONLY=<name>` recomputes one; how_to_run gives the times).")
    return "\n".join(lines), ok


def _compare_and_publish(name: str, table: pd.DataFrame, work: Path, command: str) -> list:
    """Compare a recomputed table with the published one (printing the report), and with
    ``command == "publish"`` write it; returns ``[(result, comparison)]`` or ``[]``."""
    result, out = RESULTS[name], []
    published = None
    try:
        entry = manifest()["results"].get(name)
        if entry is not None:
            published = pd.read_csv(RESULTS_DIR / entry["file"], dtype=str,
                                    keep_default_na=False)
    except (OSError, ValueError) as e:
        print(f"  cannot read the published {name}: {e}", file=sys.stderr)
    if published is not None:
        c = compare(name, published, split_timing(table)[0])
        out.append((result, c))
        print(c.report(), flush=True)
        if command == "reproduce" and c.ok:
            print("  " + mark_recomputed(name, RESULTS_DIR), flush=True)  # read at call time
    else:
        print(f"{name}: nothing published yet to compare with", flush=True)
    if command == "publish":

        prov = json.loads(provenance_file(work / name / result.summary_name).read_text())
        write(name, table, prov)
        print(f"  published results/{name}.csv ({len(table)} rows)", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "status":
        text, ok = status_report()
        print(text, file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 2
    bad = [n for n in args.only if n not in RESULTS]
    if bad:
        parser.error(f"--only {' '.join(bad)}: unknown result(s); allowed are "
                     f"{', '.join(RESULTS)}")
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    if numerics.mode() != "reference":
        parser.error("published results are computed in reference numerics; unset "
                     "CLIPRL_NUMERICS=native")
    work = Path(args.work) if args.work else work_dir()
    work.mkdir(parents=True, exist_ok=True)
    print(f"{args.command}: {len(args.only)} published result(s), computed in {work}/ "
          f"(resumable: run the same command again after Ctrl-C)", flush=True)
    t0, comparisons, failed = time.perf_counter(), [], False
    staged = {n for stage in STAGES for n in stage}
    stages = [[n for n in stage if n in args.only] for stage in STAGES] + \
        [[n] for n in args.only if n not in staged]  # a result no stage names: alone, last
    stages = [stage for stage in stages if stage]
    try:
        for i, stage in enumerate(stages, 1):
            for name in stage:
                print(f"\n[{i}/{len(stages)}] {name}: {RESULTS[name].title}", flush=True)
            if len(stage) == 1 or args.scheduler:
                tables = {n: recompute(n, work, args.jobs, args.scheduler) for n in stage}
            else:
                tables = recompute_together(stage, work)
            for name in stage:
                comparisons += _compare_and_publish(name, tables[name], work, args.command)
    except KeyboardInterrupt:
        print(f"\n{args.command}: interrupted; run the same command again to resume "
              f"(finished runs in {work}/ are reused)", file=sys.stderr)
        return 130
    except RuntimeError as e:
        print(f"{args.command}: {e}", file=sys.stderr)
        return 1
    minutes = (time.perf_counter() - t0) / 60
    print(f"\n{args.command}: done in {minutes:.1f} min. Summary:")
    for result, c in comparisons:
        tag = "" if result.exact else " (native kernels: other CPUs may compute other bits; " \
                                      "reported, never a failure)"
        print(f"  {c.name}: {c.identical} of {c.rows} rows identical to the bit" + tag)
        failed |= result.exact and not c.ok
    if args.command == "reproduce" and failed:
        print("reproduce: some published rows differ (above); `make publish` writes the "
              "recomputed ones", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
