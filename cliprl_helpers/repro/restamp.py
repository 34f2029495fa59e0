"""The re-stamp: published results stay current through a change of the computing code that
keeps their numbers (``python -m cliprl_helpers.repro.restamp``; ``make restamp``).

Any edit of the computing code (a rename in ``core``) changes the code fingerprint
(:mod:`cliprl_helpers.repro.codeprint`) and so makes every published result stale. The full
proof that the numbers did not move is ``make reproduce`` (every row recomputed; about two
hours on 2 cores). A re-stamp is the short proof: for each stale result it recomputes a fixed
slice (the rule lives with the result's recipe in :mod:`cliprl_helpers.repro.registry`:
:meth:`~cliprl_helpers.repro.registry.Result.restamp_slice`, trial 0 of every grid size,
specification, method and reading) from an empty cache, compares every column of every
recomputed row with the published row (:mod:`cliprl_helpers.repro.compare`), and only if
every row of every slice is identical to the bit records, in ``results/manifest.json``, the new
code fingerprint as *current by re-stamp*: the slice, the rows compared, the commit, the date
and the seconds it took, beside the fingerprint, commit and date of the last full recompute,
which it keeps. One differing row leaves the manifest as it was and names the result, the row
and the column.

A changed recipe (the grid sizes, trials or ``-p`` parameters of the sweep, the numerics, the
parameters of the chapter notebook) is a new result, which only ``make publish`` makes: the
re-stamp refuses it, as it refuses a missing or damaged result, before anything is trained
(exit code 2). ``make reproduce`` stays the full proof: when it finds every row identical it
records the code as current by that recompute and drops the re-stamp.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from ..core import numerics
from . import codeprint, published, registry, reproduce
from .compare import Comparison, compare, split_timing
from .provenance import git_commit
from .published import RESULTS_DIR
from .registry import RESULTS, ROOT


class Refused(ValueError):
    """A result the re-stamp cannot vouch for: missing, damaged or with another recipe."""


def to_restamp(names: list[str], results_dir: Path = RESULTS_DIR) -> tuple[list[str], list[str]]:
    """``(stale, lines)``: the results of ``names`` that need a re-stamp, and one line for
    each that is current already. :class:`Refused`, naming every such result and why, if any
    is missing, damaged or was computed with another recipe."""
    stale, lines, refused = [], [], []
    for name in names:
        why = published.damage(name, results_dir)
        if why:
            refused.append(f"{name}: {why}")
            continue
        if not published.problem(name, results_dir):
            how = published.currency(name, results_dir)
            lines.append(f"{name}: current already (by its "
                         f"{'full recompute' if how == 'recompute' else 're-stamp'}); "
                         f"nothing to re-stamp")
            continue
        if not registry.result(name).exact:
            cpus = published.manifest(results_dir)["results"][name]["provenance"].get("cpus")
            if cpus != [_cpu()]:
                refused.append(f"{name}: computed with the CPU's own kernels on {cpus}; this "
                               f"CPU ({_cpu()}) may compute other bits: re-stamp it on that "
                               f"CPU, or `make publish ONLY={name}`")
                continue
        changed = reproduce.recipe_changes(name, results_dir)
        if changed:
            refused.append(f"{name}: its recipe changed since it was published "
                           f"({'; '.join(changed)}): that is a new result, which only "
                           f"`make publish ONLY={name}` makes")
            continue
        stale.append(name)
    if refused:
        raise Refused("cannot re-stamp " + "; ".join(refused))
    return stale, lines


def published_slice(name: str, results_dir: Path = RESULTS_DIR) -> pd.DataFrame:
    """The published rows of ``name`` that its re-stamp slice recomputes (every cell as its
    CSV text)."""
    entry = published.manifest(results_dir)["results"][name]
    table = pd.read_csv(Path(results_dir) / entry["file"], dtype=str, keep_default_na=False)
    return table[table.trial.astype(int) < registry.result(name).restamp_trials]


def recompute_slices(names: list[str], work: Path, jobs: int = 2) -> dict[str, pd.DataFrame]:
    """Recompute the slice of every result of ``names`` into ``work`` (an empty training
    cache of its own), all at once: the reference-numerics results share one local Dask
    cluster of ``jobs`` workers (each sweep submits its longest runs first), a
    native-kernels result runs beside them on a worker of its own."""
    from . import cluster  # lazy: Dask takes seconds to import

    overrides = {n: registry.result(n).restamp_overrides() for n in names}
    client, local = cluster.start(None, jobs)
    try:
        return reproduce.recompute_together(names, work, overrides,
                                            scheduler=local.scheduler_address)
    finally:
        cluster.stop(client, local, [], [])


def compare_slices(names: list[str], tables: dict[str, pd.DataFrame],
                   results_dir: Path = RESULTS_DIR) -> dict[str, Comparison]:
    """Every recomputed slice against its published rows, column by column."""
    out = {}
    for name in names:
        c = compare(name, published_slice(name, results_dir), split_timing(tables[name])[0])
        if not c.rows:
            c.note = "the slice holds no published row"
        out[name] = c
    return out


def stamp(name: str, comparison: Comparison, seconds: float,
          results_dir: Path = RESULTS_DIR) -> None:
    """Record in the manifest that ``name`` is current for this code by re-stamp."""
    result = registry.result(name)
    state = result.state()
    entry = published.manifest(results_dir)["results"][name]
    last = entry.get("recomputed") or {"commit": _first(entry["provenance"].get("git_commit")),
                                       "date": entry.get("computed")}
    record = {"fingerprint": codeprint.fingerprint(state), "state": state,
              "commit": git_commit(ROOT), "date": reproduce.today(),
              "rows": comparison.rows, "slice": result.restamp_slice(),
              "batch_seconds": round(seconds, 1), "cpu": _cpu(),
              "full_recompute": {"fingerprint": entry["fingerprint"], **last}}

    def change(e: dict) -> None:
        e["restamp"] = record

    reproduce.update_entry(name, change, results_dir)


def _cpu() -> str:
    return numerics.cpu().get("model", "?")


def _first(commits) -> str | None:
    return commits[0] if isinstance(commits, list) and commits else commits


def restamp(names: list[str] | None = None, work: Path | None = None, jobs: int = 2,
            results_dir: Path = RESULTS_DIR, log=print) -> bool:
    """Re-stamp the stale results among ``names`` (default: all). Returns whether every
    published result asked for is now current; :class:`Refused` (before anything is
    computed) for a missing, damaged or re-recipied result. The manifest changes only if
    every recomputed row of every slice is identical to the bit."""
    names = list(RESULTS) if names is None else list(names)
    stale, lines = to_restamp(names, results_dir)
    for line in lines:
        log(line)
    if not stale:
        return True
    work = Path(work) if work is not None else reproduce.work_dir(ROOT / "runs" / "restamp")
    work.mkdir(parents=True, exist_ok=True)
    for name in stale:
        r = registry.result(name)
        log(f"{name}: recomputing {r.restamp_slice()} ({r.title})")
    t0 = time.perf_counter()
    tables = recompute_slices(stale, work, jobs)
    seconds = time.perf_counter() - t0
    comparisons = compare_slices(stale, tables, results_dir)
    for c in comparisons.values():
        log(c.report())
    failed = [n for n, c in comparisons.items() if not c.ok]
    if failed:
        log(f"restamp: {', '.join(failed)} differ(s) from the published rows (above): the "
            f"manifest is unchanged; `make publish` recomputes and writes every result")
        return False
    for name, c in comparisons.items():
        stamp(name, c, seconds, results_dir)
    rows = sum(c.rows for c in comparisons.values())
    log(f"restamp: {', '.join(stale)} current by re-stamp ({rows} rows recomputed in "
        f"{seconds / 60:.1f} min, identical to the bit)")
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m cliprl_helpers.repro.restamp",
        description="Keep the published results current through a change of the computing "
                    "code that keeps their numbers: recompute a slice of every stale result "
                    "and record the new code only if every row is identical to the bit.")
    p.add_argument("--only", nargs="+", default=list(RESULTS), metavar="NAME",
                   help=f"results to re-stamp ({', '.join(RESULTS)}; default: all)")
    p.add_argument("--jobs", type=int, default=2, help="local Dask workers (default 2)")
    p.add_argument("--work", default=None, metavar="DIR",
                   help="where to compute (default: runs/restamp/<code fingerprint>)")
    args = p.parse_args(argv)
    bad = [n for n in args.only if n not in RESULTS]
    if bad:
        p.error(f"--only {' '.join(bad)}: unknown result(s); allowed are {', '.join(RESULTS)}")
    if args.jobs < 1:
        p.error(f"--jobs must be at least 1, got {args.jobs}")
    if numerics.mode() != "reference":
        p.error("published results are computed in reference numerics; unset "
                "CLIPRL_NUMERICS=native")
    try:
        ok = restamp(args.only, args.work, args.jobs, log=lambda s: print(s, flush=True))
    except Refused as e:
        print(f"restamp: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nrestamp: interrupted; the manifest is unchanged (run it again: finished runs "
              "of this code are reused)", file=sys.stderr)
        return 130
    except RuntimeError as e:
        print(f"restamp: {e}; the manifest is unchanged", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
