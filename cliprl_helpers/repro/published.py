"""The book's published results (``results/``): what they are, whether they are current, and
the commands that recompute them (``python -m cliprl_helpers.repro.published``).

Each published result is a table of per-run rows computed by the sweep
(:mod:`cliprl_helpers.repro.sweep`) from one recipe (:data:`RESULTS`): the headline sweep of
chapter 6 at 30 trials, the robustness study of chapter 9 and its "native kernels"
specification, and the tables of chapters 7 and 8 at their stored parameters. In
``results/``::

    manifest.json         for every result: its files and their SHA-256, rows and columns,
                          the recipe, the numerics, the fingerprint of the code that computed
                          it (:mod:`cliprl_helpers.repro.codeprint`) and its provenance
    <name>.csv            the rows, every column that must reproduce to the bit
    <name>-timing.csv     wall-clock seconds (``wall_s``) of each row of ``<name>.csv``, line
                          by line: kept apart, because they never reproduce

A result is *current* while the fingerprint of the code that would compute it today equals
the one it was computed with; the book renders current results and refuses stale or damaged
ones (:func:`load`) with the command that recomputes them. Commands::

    python -m cliprl_helpers.repro.published status      # which results are current (exit 2 if not)
    python -m cliprl_helpers.repro.published reproduce   # recompute all, compare row by row
    python -m cliprl_helpers.repro.published publish     # recompute all, write results/

``reproduce`` and ``publish`` compute from an empty cache of their own,
``runs/reproduce/<code fingerprint>/`` (a new code state starts empty; the same one resumes
after Ctrl-C: finished runs are reused), on a local Dask cluster of ``--jobs`` workers or an
existing one (``--scheduler ADDRESS``).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from ..core import numerics
from ..core.artifacts import atomic_write, project_root
from ..core.checks import choice
from . import codeprint
from .robustness import sweep_args
from .sweep import (
    build_parser,
    describe_provenance,
    describe_source,
    notebook_defaults,
    plan,
    provenance_file,
    small_run,
)

ROOT = project_root(Path(__file__).resolve().parent)
RESULTS_DIR = ROOT / "results"
MANIFEST = "manifest.json"
FORMAT = 1
#: Columns that measure the machine, not the method: published apart, never compared.
TIMING_COLUMNS = ("wall_s",)
#: Columns that identify a row (those a table has), before any ``param_*`` columns.
KEY_COLUMNS = ("setting", "target_reading", "target", "grid_size", "trial", "method")
#: The grid sizes of the paper.
PAPER_SIZES = ("8", "10", "15", "25")
CHAPTER_NOTEBOOKS = {"05": "notebooks/05_clip_transfer.ipynb",
                     "07": "notebooks/07_minigrid.ipynb",
                     "08": "notebooks/08_when_alignment_helps.ipynb"}


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

    @property
    def notebook(self) -> Path:
        return ROOT / CHAPTER_NOTEBOOKS[self.chapter]

    @property
    def summary_name(self) -> str:
        return "summary.csv" if self.chapter == "05" else f"summary-ch{self.chapter}.csv"

    def args(self) -> list[str]:
        """The sweep's arguments for this result (without ``--out``, ``--jobs`` and
        ``--scheduler``)."""
        if self.name == "robustness":

            args = sweep_args("-", self.trials, jobs=1)
            for flag in ("--out", "--jobs"):
                i = args.index(flag)
                del args[i:i + 2]
            return args
        if self.chapter == "05":
            return ["--trials", str(self.trials), "--grid-sizes", *PAPER_SIZES, "--no-figures"]

        d = notebook_defaults(self.notebook)
        return ["--chapters", self.chapter, "--grid-sizes", str(d["grid_size"]), "--trials",
                str(d["n_trials"]), "--seed", str(d["seed"]), "--no-figures"]

    def state(self) -> dict:
        """What this result's fingerprint covers: the code (:func:`codeprint.code_state`),
        the recipe and the numerics."""
        tag = f"reference-{numerics.REFERENCE_VERSION}" if self.numerics == "reference" \
            else self.numerics
        return {**codeprint.code_state(self.notebook), "recipe": self.args(), "numerics": tag}


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
)}


class StaleResult(ValueError):
    """A published result that is missing, damaged, or made by other code."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest(results_dir: Path = RESULTS_DIR) -> dict:
    """The parsed ``manifest.json`` (``{"format": 1, "results": {}}`` if there is none);
    ``ValueError`` if it is damaged."""
    path = Path(results_dir) / MANIFEST
    if not path.is_file():
        return {"format": FORMAT, "results": {}}
    try:
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT or not isinstance(data.get("results"), dict):
            raise ValueError("unknown format")
    except ValueError as e:
        raise ValueError(f"{path} is damaged ({e}); restore it with `git checkout "
                         f"results/` or recompute with `make publish`") from None
    return data


def _get(name: str) -> Result:
    if name not in RESULTS:
        raise ValueError(f"unknown published result {name!r}: allowed are "
                         f"{', '.join(RESULTS)}")
    return RESULTS[name]


def problem(name: str, results_dir: Path = RESULTS_DIR) -> str:
    """``""`` if result ``name`` is in ``results_dir``, whole and current, else why not."""
    result = _get(name)
    try:
        entry = manifest(results_dir)["results"].get(name)
    except ValueError as e:
        return str(e)
    if entry is None:
        return f"results/{name}.csv is not published yet"
    for key in ("file", "timing_file"):
        path = Path(results_dir) / entry[key]
        if not path.is_file():
            return f"results/{entry[key]} is missing"
        if _sha256(path.read_bytes()) != entry[key.replace("file", "sha256")]:
            return (f"results/{entry[key]} is damaged (its SHA-256 does not match "
                    f"manifest.json)")
    state = result.state()
    if codeprint.fingerprint(state) != entry.get("fingerprint"):
        what = codeprint.changes(entry.get("state", {}), state) or ["the code"]
        return f"results/{name}.csv is stale: {', '.join(what)} since it was computed"
    return ""


def _advice(name: str) -> str:
    return (f"`make reproduce` recomputes it and reports whether any number changed; "
            f"`make publish` writes the recomputed results ({name})")


def load(name: str, results_dir: Path = RESULTS_DIR, timing: bool = False) -> pd.DataFrame:
    """Published result ``name`` as a table (with its ``wall_s`` column when ``timing``).

    Raises :class:`StaleResult` (a ``ValueError``) when it is missing, damaged (a checksum,
    the columns or the row count do not match the manifest) or stale, naming the command that
    recomputes it: a stale number is never shown silently.
    """
    why = problem(name, results_dir)
    if why:
        raise StaleResult(f"{why}. {_advice(name)}")
    entry = manifest(results_dir)["results"][name]
    table = pd.read_csv(Path(results_dir) / entry["file"])
    if list(table.columns) != entry["columns"] or len(table) != entry["rows"]:
        raise StaleResult(f"results/{entry['file']} does not have the columns and "
                          f"{entry['rows']} rows its manifest records. {_advice(name)}")
    if timing:
        t = pd.read_csv(Path(results_dir) / entry["timing_file"])
        if len(t) != len(table):
            raise StaleResult(f"results/{entry['timing_file']} has {len(t)} rows, "
                              f"{len(table)} expected. {_advice(name)}")
        table = table.assign(**{c: t[c].to_numpy() for c in TIMING_COLUMNS if c in t})
    return table


def describe(name: str, results_dir: Path = RESULTS_DIR,
             table: pd.DataFrame | None = None) -> str:
    """Where a published result's numbers come from, in one phrase: file, sizes, trials,
    runs, censored runs, numerics, commit and date (``table``: the result, if already
    loaded)."""
    entry = manifest(results_dir)["results"][name]
    table = load(name, results_dir) if table is None else table
    sizes = sorted(int(n) for n in table.grid_size.unique())
    prov = entry.get("provenance", {})
    commits = prov.get("git_commit") or ["unknown"]
    commits = sorted({str(c)[:10] + (" with uncommitted changes" if str(c).endswith("-dirty")
                                     else "") for c in ([commits] if isinstance(commits, str)
                                                        else commits)})
    exact = ("the same bits on every x86-64-v3 CPU" if prov.get("guaranteed") else
             "this CPU's own kernels: other CPUs may differ")
    return (f"results/{entry['file']} (grid sizes {sizes}, {table.trial.nunique()} trials, "
            f"{len(table)} runs, {int(table.censored.sum())} censored; "
            f"{'/'.join(prov.get('numerics', [])) or '?'} numerics, {exact}; computed on "
            f"{', '.join(prov.get('cpus', [])) or '?'}, {entry.get('computed', '?')}, code "
            f"fingerprint {str(entry.get('fingerprint'))[:12]} (commit {', '.join(commits)}))")


# ---- what a chapter shows ----------------------------------------------------------------

def published_params(name: str, results_dir: Path = RESULTS_DIR) -> dict:
    """The notebook parameters result ``name`` was computed with (``{}`` if unpublished)."""
    entry = manifest(results_dir)["results"].get(name) or {}
    return dict(entry.get("params") or {})


def or_compute(name: str, params: dict, source: str, compute: Callable[..., pd.DataFrame],
               by: str | None = None, results_dir: Path = RESULTS_DIR):
    """What a chapter that publishes a table calls instead of computing it directly.

    Returns a function with ``compute``'s keyword arguments. With ``source="published"`` and
    ``params`` equal to the parameters result ``name`` was computed with, it returns the
    published rows (with ``by``: the rows whose column ``by`` equals the keyword argument of
    that name), trained nowhere; otherwise (``source="compute"``, or other parameters) it
    calls ``compute``. Prints which of the two it does. A published result that is stale or
    damaged raises :class:`StaleResult` with the command that recomputes it.
    """

    choice("source", source, ["published", "compute"])
    table, said = None, "computing here (source = \"compute\")"
    if source == "published":
        mine = published_params(name, results_dir)
        differ = [f"{k} = {v!r} (published: {mine.get(k, 'not set')!r})"
                  for k, v in params.items() if mine.get(k) != v]
        if differ or not mine:
            said = ("computing here: " + ("; ".join(differ) if mine else
                                         f"results/{name}.csv is not published"))
        else:
            table = load(name, results_dir)
            said = f"showing the published {describe(name, results_dir, table)}"
    print(said)

    def rows(**kwargs) -> pd.DataFrame:
        if table is None:
            return compute(**kwargs)
        if by is None:
            return table.copy()
        out = table[table[by] == kwargs.get(by)]
        if out.empty:
            raise ValueError(f"results/{name}.csv has no rows with {by} = {kwargs.get(by)!r}; "
                             f"it has {sorted(set(table[by]))}")
        return out.drop_duplicates().reset_index(drop=True)

    return rows


def chapter_table(name: str, source: str, small_out: str | Path, small_args: list,
                  module: str = "cliprl_helpers.repro.sweep",
                  results_dir: Path = RESULTS_DIR) -> tuple[pd.DataFrame, str, str]:
    """The table a chapter that analyses a published result reads (chapters 6 and 9).

    ``source``: ``"published"`` (result ``name`` from ``results/``), ``"small"`` (a small
    sweep run now: ``python -m <module> --out <small_out> <small_args>``; finished runs are
    reused) or the path of a sweep's ``summary.csv`` (``make sweep`` writes
    ``runs/summary.csv``). Returns ``(table, where, kind)``: ``where`` says where the
    numbers come from and how they were computed, ``kind`` is ``"published"``, ``"small"``
    or ``"own"``.
    """

    if source == "published":
        table = load(name, results_dir)
        return table, f"the published {describe(name, results_dir, table)}", "published"
    if source == "small":
        table, path = small_run(small_out, small_args, module)
        kind = "small"
    else:
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"source {source!r}: no such file; give \"published\", "
                             f"\"small\" or the summary.csv of a sweep (make sweep writes "
                             f"runs/summary.csv)")
        table, kind = pd.read_csv(path), "own"
    return table, (f"{describe_source(table, path)}; how they were computed: "
                   f"{describe_provenance(provenance_file(path))}"), kind


def verify(name: str, table: pd.DataFrame, results_dir: Path = RESULTS_DIR) -> str:
    """Compare the rows a chapter shows with published result ``name``, to the bit: every row
    of ``table`` whose keys (specification, grid size, reading, trial, method) the published
    result also has. One line: rows compared and identical, or what differs."""
    pub = _as_text(load(name, results_dir))  # published tables hold no timing columns
    mine = _as_text(_split(table)[0])
    keys = key_columns(mine)
    extra = [c for c in mine.columns if c not in pub.columns]
    lacking = [c for c in key_columns(pub) if c not in mine.columns]
    if extra or lacking:
        return (f"{name}: not comparable with the published rows (columns "
                f"{extra or lacking} are only in {'these' if extra else 'the published'} rows)")
    both = mine.merge(pub[keys].assign(_published=True), on=keys, how="left")
    mine = mine[both["_published"].fillna(False).to_numpy(bool)]
    if mine.empty:
        return f"{name}: none of these rows is among the published ones"
    wanted = pub.merge(mine[keys], on=keys)[pub.columns]
    c = compare(name, wanted, mine[pub.columns])
    return c.report().replace(f"{name}: ", f"{name} (against results/{name}.csv): ", 1)


# ---- recomputing ----------------------------------------------------------------------

def work_dir(base: str | Path | None = None) -> Path:
    """``runs/reproduce/<fingerprint of the computing code>``: a new code state starts from
    an empty cache, the same one resumes."""
    base = Path(base) if base is not None else ROOT / "runs" / "reproduce"
    return base / codeprint.fingerprint(codeprint.code_state())[:12]


def _split(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(data, timing): the columns that reproduce, and the wall-clock columns (row by row
    beside the data, to the millisecond)."""
    data = table.drop(columns=[c for c in TIMING_COLUMNS if c in table])
    timing = table[[c for c in TIMING_COLUMNS if c in table]]
    timing = timing.apply(lambda c: pd.to_numeric(c).round(3))
    return data, timing


def key_columns(table: pd.DataFrame) -> list[str]:
    """The columns that identify a row: the specification's ``param_*`` columns, then those
    of :data:`KEY_COLUMNS` the table has."""
    return [c for c in table.columns if c.startswith("param_")] + \
        [c for c in KEY_COLUMNS if c in table.columns]


def _as_text(table: pd.DataFrame) -> pd.DataFrame:
    """Every cell as the text a CSV of ``table`` holds (a text table is left as it is)."""
    return pd.read_csv(io.StringIO(table.to_csv(index=False)), dtype=str,
                       keep_default_na=False)


def _sortable(column: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(column, errors="coerce")
    return numbers if numbers.notna().all() else column


def _key_order(text: pd.DataFrame) -> list:
    """Index labels of a text table in key order (numbers as numbers; ties: every column)."""
    keys = key_columns(text)
    order = keys + [c for c in text.columns if c not in keys]
    return list(text.sort_values(order, kind="stable", key=_sortable).index)


def _canonical(table: pd.DataFrame) -> pd.DataFrame:
    """Every cell as the text the CSV holds, rows in key order."""
    text = _as_text(table)
    return text.loc[_key_order(text)].reset_index(drop=True)


@dataclass
class Comparison:
    """Published against recomputed rows of one result."""

    name: str
    rows: int
    identical: int
    differing: pd.DataFrame  # one row per differing cell: keys, column, published, recomputed
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.note and self.identical == self.rows

    def report(self) -> str:
        head = (f"{self.name}: {self.rows} rows compared, {self.identical} identical to the "
                f"bit")
        if self.note:
            head += f"; {self.note}"
        if self.differing.empty:
            return head
        lines = [head + f"; {self.rows - self.identical} rows differ:"]
        for col, g in self.differing.groupby("column", sort=True):
            size = _change_size(g)
            lines.append(f"  {col}: {g.row.nunique()} rows differ{size}")
        shown = self.differing.head(8).drop(columns="row")
        lines.append("  " + shown.to_string(index=False).replace("\n", "\n  "))
        if len(self.differing) > 8:
            lines.append(f"  ... and {len(self.differing) - 8} more differing cells")
        return "\n".join(lines)


def _change_size(g: pd.DataFrame) -> str:
    try:
        a = pd.to_numeric(g.published).to_numpy(float)
        b = pd.to_numeric(g.recomputed).to_numpy(float)
    except (ValueError, TypeError):
        return ""
    ok = (a > 0) & (b > 0)
    if ok.any():
        factor = math.exp(float(abs(pd.Series(b[ok] / a[ok]).map(math.log)).max()))
        return f" (largest change a factor {factor:.3g})"
    return f" (largest absolute change {float(abs(b - a).max()):.3g})"


def compare(name: str, published: pd.DataFrame, recomputed: pd.DataFrame) -> Comparison:
    """Row by row, every cell as the CSV text (so "identical" means to the bit)."""
    pub, new = _canonical(published), _canonical(recomputed)
    if list(pub.columns) != list(new.columns):
        return Comparison(name, len(pub), 0, pd.DataFrame(
            columns=["row", "column", "published", "recomputed"]),
            note=f"the columns differ: published {list(pub.columns)}, recomputed "
                 f"{list(new.columns)}")
    note = "" if len(pub) == len(new) else \
        f"row counts differ: published {len(pub)}, recomputed {len(new)}"
    n = min(len(pub), len(new))
    keys = key_columns(pub)
    cells = []
    same_rows = 0
    for i in range(n):
        a, b = pub.iloc[i], new.iloc[i]
        diff = [c for c in pub.columns if a[c] != b[c]]
        if not diff:
            same_rows += 1
        for c in diff:
            cells.append({"row": i, **{k: a[k] for k in keys}, "column": c,
                          "published": a[c], "recomputed": b[c]})
    return Comparison(name, len(pub), same_rows,
                      pd.DataFrame(cells, columns=["row", *keys, "column", "published",
                                                   "recomputed"]), note)


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
    result = _get(name)
    env = numerics.child_environment(result.numerics,
                                     CLIPRL_ARTIFACTS=str(Path(work) / "artifacts"))
    cmd = sweep_command(result, Path(work) / name, jobs, scheduler, overrides)
    out = open(log, "w") if log is not None else None  # noqa: SIM115 - closed by the caller
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=out), cmd, out


def _table_of(name: str, work: Path, proc, cmd) -> pd.DataFrame:
    if proc.returncode:
        raise RuntimeError(f"the sweep of {name} stopped with exit code {proc.returncode}: "
                           f"{' '.join(cmd[1:])}")
    return pd.read_csv(Path(work) / name / _get(name).summary_name, dtype=str,
                       keep_default_na=False)


def recompute(name: str, work: Path, jobs: int = 2, scheduler: str | None = None,
              overrides: dict | None = None) -> pd.DataFrame:
    """Run the sweep of result ``name`` into ``work/<name>`` with the training cache
    ``work/artifacts`` (its progress bar on the terminal) and return its table (every
    column, every cell as its CSV text). Raises ``RuntimeError`` if the sweep fails."""
    proc, cmd, _ = _sweep_process(name, work, jobs, scheduler, overrides)
    proc.wait()
    return _table_of(name, work, proc, cmd)


def _planned_runs(name: str, work: Path) -> list:

    cmd = sweep_command(_get(name), Path(work) / name, 1, None)
    return plan(build_parser().parse_args(cmd[3:]), ROOT)


def recompute_together(names: list[str], work: Path) -> dict[str, pd.DataFrame]:
    """Run the sweeps of several small results at once, one worker each (their runs are
    fewer than the cores: one at a time would leave cores idle), each logging to
    ``work/<name>.log``, under one progress bar of finished runs."""

    planned = {n: _planned_runs(n, work) for n in names}
    started = {n: _sweep_process(n, work, 1, None, log=Path(work) / f"{n}.log")
               for n in names}
    total = sum(map(len, planned.values()))
    try:
        with tqdm(total=total, desc=" + ".join(names), unit="run") as bar:
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
STAGES = (("headline",), ("robustness",), ("native", "ch07", "ch08"))


def write(name: str, table: pd.DataFrame, provenance: dict,
          results_dir: Path = RESULTS_DIR) -> dict:
    """Publish ``table`` (a sweep's summary) as result ``name``: its data and timing files
    and its manifest entry (every file written atomically); returns the entry."""
    result = _get(name)
    if result.exact and not provenance.get("guaranteed"):
        raise ValueError(f"{name} must be computed in reference numerics with the same bits on "
                         f"every x86-64 CPU; its runs say: {provenance.get('description')}")
    data, timing = _split(_as_text(table))
    order = _key_order(data)  # rows in key order, in both files
    data = data.loc[order].reset_index(drop=True)
    timing = timing.loc[order].reset_index(drop=True)
    results_dir = Path(results_dir)
    files = {f"{name}.csv": data.to_csv(index=False).encode(),
             f"{name}-timing.csv": timing.to_csv(index=False).encode()}
    for fname, blob in files.items():
        atomic_write(results_dir / fname, blob)
    state = result.state()
    entry = {"title": result.title, "file": f"{name}.csv",
             "sha256": _sha256(files[f"{name}.csv"]), "timing_file": f"{name}-timing.csv",
             "timing_sha256": _sha256(files[f"{name}-timing.csv"]), "rows": len(data),
             "columns": list(data.columns), "chapter": result.chapter,
             "recipe": "python -m cliprl_helpers.repro.sweep " + " ".join(result.args()),
             "numerics": result.numerics, "params": _notebook_params(result),
             "fingerprint": codeprint.fingerprint(state),
             "state": state, "provenance": provenance,
             "computed": datetime.date.today().isoformat()}
    m = manifest(results_dir)
    m["results"][name] = entry
    m["results"] = {k: m["results"][k] for k in RESULTS if k in m["results"]}
    atomic_write(results_dir / MANIFEST, (json.dumps(m, indent=1, sort_keys=False) + "\n")
                 .encode())
    return entry


def _notebook_params(result: Result) -> dict:
    """The chapter notebook's parameters a result was computed with: its defaults, with the
    grid size and trials of the recipe (without the sweep's own ``results_csv``/``source``)."""

    params = {k: v for k, v in notebook_defaults(result.notebook).items()
              if k not in ("results_csv", "source")}
    if result.trials is not None:
        params["n_trials"] = result.trials
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
    return compare(name, pub, _split(table)[0])


# ---- command line -----------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m cliprl_helpers.repro.published",
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
                     "results into results/ (both from an empty cache, about 32 min on 2 "
                     "cores).")
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
        c = compare(name, published, _split(table)[0])
        out.append((result, c))
        print(c.report(), flush=True)
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
    stages = [[n for n in stage if n in args.only] for stage in STAGES]
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
