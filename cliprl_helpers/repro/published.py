"""The book's published results (``results/``): whether they are current, loading them, and
what a chapter shows in their place.

Each published result (:data:`cliprl_helpers.repro.registry.RESULTS`) is a table of per-run
rows. In ``results/``::

    manifest.json         for every result: its files and their SHA-256, rows and columns,
                          the recipe, the numerics, the fingerprint of the code that computed
                          it (:mod:`cliprl_helpers.repro.codeprint`) and its provenance
    <name>.csv            the rows, every column that must reproduce to the bit
    <name>-timing.csv     wall-clock seconds (``wall_s``) of each row of ``<name>.csv``, line
                          by line: kept apart, because they never reproduce

A result is *current* while the fingerprint of the code that would compute it today equals
the one it was computed with, or the one of a *re-stamp* (a slice of its rows recomputed by
later code and found identical to the bit, recorded beside the full recompute:
:mod:`cliprl_helpers.repro.restamp`); the book renders current results and refuses stale or damaged
ones (:func:`load`) with the command that recomputes them
(:mod:`cliprl_helpers.repro.reproduce`). A chapter either shows a published table or
computes its own (:func:`or_compute`, :func:`chapter_table`; ``source`` is ``"published"``
or ``"compute"`` in every chapter), and :func:`verify` compares the rows it shows with the
published ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..core.checks import choice
from . import codeprint, registry
from .compare import TIMING_COLUMNS, as_text, compare, key_columns, split_timing
from .provenance import describe_provenance, describe_source, provenance_file
from .registry import RESULTS_DIR
from .runs import Run
from .sweep import small_run

MANIFEST = "manifest.json"
FORMAT = 1


class StaleResult(ValueError):
    """A published result that is missing, damaged, or made by other code."""


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
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


def damage(name: str, results_dir: Path = RESULTS_DIR) -> str:
    """``""`` if result ``name`` is in ``results_dir`` and whole (its files match the
    manifest's checksums), else what is missing or damaged."""
    registry.result(name)
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
        if sha256(path.read_bytes()) != entry[key.replace("file", "sha256")]:
            return (f"results/{entry[key]} is damaged (its SHA-256 does not match "
                    f"manifest.json)")
    return ""


def problem(name: str, results_dir: Path = RESULTS_DIR) -> str:
    """``""`` if result ``name`` is in ``results_dir``, whole and current (by its full
    recompute or by a re-stamp), else why not."""
    why = damage(name, results_dir)
    if why:
        return why
    entry = manifest(results_dir)["results"][name]
    state = registry.result(name).state()
    stamp = entry.get("restamp") or {}
    if codeprint.fingerprint(state) not in (entry.get("fingerprint"), stamp.get("fingerprint")):
        what = codeprint.changes(stamp.get("state") or entry.get("state", {}), state) or \
            ["the code"]
        since = "it was re-stamped" if stamp else "it was computed"
        return f"results/{name}.csv is stale: {', '.join(what)} since {since}"
    return ""


def currency(name: str, results_dir: Path = RESULTS_DIR) -> str:
    """How a current result is current for this checkout's code: ``"recompute"`` (the code
    that computed every row, or a full recompute found them all identical) or ``"restamp"``
    (a recomputed slice found identical, :mod:`cliprl_helpers.repro.restamp`)."""
    entry = manifest(results_dir)["results"][name]
    if codeprint.fingerprint(registry.result(name).state()) == entry.get("fingerprint"):
        return "recompute"
    return "restamp"


def stamp_phrase(entry: dict) -> str:
    """``"; re-stamped <date> at commit <c> by <n> recomputed rows ..."`` for a manifest entry
    that carries a re-stamp, else ``""``."""
    stamp = entry.get("restamp")
    if not stamp:
        return ""
    return (f"; re-stamped {stamp['date']} at commit {str(stamp.get('commit'))[:10]} by "
            f"{stamp['rows']} recomputed rows identical to the bit ({stamp['slice']}), code "
            f"fingerprint {stamp['fingerprint'][:12]}")


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


def run_times(name: str, results_dir: Path = RESULTS_DIR) -> pd.DataFrame:
    """The wall-clock seconds of each run that computed published result ``name``, as its
    sweep recorded them: one row per run, columns ``grid_size, first_trial, last_trial,
    spec, seconds`` (empty when the result was published before runs recorded their time)."""
    prov = manifest(results_dir)["results"][name].get("provenance", {})
    rows = [{**Run.parse_label(label), "seconds": seconds}
            for label, seconds in (prov.get("run_seconds") or {}).items()]
    return pd.DataFrame(rows, columns=["chapter", "grid_size", "first_trial", "last_trial",
                                       "spec", "seconds"]).drop(columns="chapter")


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
            f"fingerprint {str(entry.get('fingerprint'))[:12]} (commit {', '.join(commits)})"
            f"{stamp_phrase(entry)})")


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

    ``source``: ``"published"`` (result ``name`` from ``results/``), ``"compute"`` (a small
    sweep run now: ``python -m <module> --out <small_out> <small_args>``; finished runs are
    reused) or the path of a sweep's ``summary.csv`` (``make sweep`` writes
    ``runs/summary.csv``). Returns ``(table, where, kind)``: ``where`` says where the
    numbers come from and how they were computed, ``kind`` is ``"published"``, ``"compute"``
    or ``"own"``.
    """

    if source == "published":
        table = load(name, results_dir)
        return table, f"the published {describe(name, results_dir, table)}", "published"
    if source == "compute":
        table, path = small_run(small_out, small_args, module)
        kind = "compute"
    else:
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"source {source!r}: no such file; give \"published\", "
                             f"\"compute\" or the summary.csv of a sweep (make sweep writes "
                             f"runs/summary.csv)")
        table, kind = pd.read_csv(path), "own"
    return table, (f"{describe_source(table, path)}; how they were computed: "
                   f"{describe_provenance(provenance_file(path))}"), kind


def verify(name: str, table: pd.DataFrame, results_dir: Path = RESULTS_DIR) -> str:
    """Compare the rows a chapter shows with published result ``name``, to the bit: every row
    of ``table`` whose keys (specification, grid size, reading, trial, method) the published
    result also has. One line: rows compared and identical, or what differs."""
    pub = as_text(load(name, results_dir))  # published tables hold no timing columns
    mine = as_text(split_timing(table)[0])
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


def verify_shared(name: str, other: str, results_dir: Path = RESULTS_DIR) -> str:
    """Compare published result ``name`` with published result ``other`` on the rows both
    computed: a trial's bits do not depend on its population, so a row of ``name`` with the
    keys of a row of ``other`` must equal it to the bit (the size ladder's paper sizes are
    headline rows). The ``param_*`` columns of ``name`` that ``other`` lacks (parameters
    ``name`` fixed for all its rows) are left out of the keys; :func:`verify` does the rest."""
    table = load(name, results_dir)
    theirs = load(other, results_dir).columns
    fixed = [c for c in table.columns if c.startswith("param_") and c not in theirs]
    return verify(other, table.drop(columns=fixed), results_dir).replace(
        f"{other} (against", f"{name}'s rows (against", 1)


