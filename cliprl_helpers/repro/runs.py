"""One run of the sweep: a notebook executed by papermill into a folder that is never trusted
unless it proves it is whole (chapter 6; the engine is in :mod:`cliprl_helpers.repro.sweep`).

A run folder holds::

    <notebook>.ipynb   the executed notebook
    results.csv        its results table
    params.json        the notebook parameters that produced them
    finished.json      written last: the parameters, the SHA-256 of the three files above and
                       the row count of results.csv

``finished.json`` also records how the worker that ran it computed (its
:func:`cliprl_helpers.repro.provenance.provenance`: numerics mode, kernel path, CPU, versions).

A run is *finished* only when ``finished.json`` exists, names the same parameters, the same
code (:func:`code_fingerprint`) and the same numerics (reference runs from any x86-64 CPU;
native runs only from native mode), and every file still has its recorded checksum and the
table the expected shape. Anything else is
redone (with a warning when a marker exists but does not match: a damaged or edited run).
Files are written under names unique to the process and renamed into place; the marker goes
last, so an interrupted run never looks finished. Each folder is locked while a run works in
it (an exclusive ``fcntl`` lock, released by the kernel if the process dies), so two workers
never interleave their files.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..core import numerics
from ..core.artifacts import atomic_write
from ..core.config import ExperimentConfig
from ..core.experiment import prepare_grid
from ..core.numerics import cache_tag
from ..core.transfer import NegativeWeightWarning
from . import provenance
from .codeprint import code_state, fingerprint
from .reference import RECORD_ENV

MARKER = "finished.json"
#: Columns every results table has (chapter 5's, 7's and 8's tables share them).
REQUIRED_COLUMNS = ("grid_size", "trial", "method", "steps_to_converge", "censored")


class RunDamaged(UserWarning):
    """A run folder claimed to be finished but its files do not match its marker."""


@dataclass
class Run:
    """One notebook execution of the sweep.

    Attributes:
        chapter: ``"05"``, ``"07"`` or ``"08"``.
        notebook: the chapter's notebook (absolute path).
        dir: the run folder (absolute path; on a filesystem every worker sees).
        params: notebook parameters (papermill), without ``results_csv``.
        spec: the ``-p`` choices of this run's specification (``{}``: the defaults).
        expected_rows: rows its ``results.csv`` must have, or ``None`` if not known.
        artifacts: the training cache every worker uses (``CLIPRL_ARTIFACTS``).
        code: :func:`code_fingerprint` of the package and notebook that must have made it.
        figures: False executes the notebook with matplotlib's non-interactive ``agg``
            backend, so its figures are built but not stored (same ``results.csv``).
        numerics: the numerics mode the run must be computed in
            (:mod:`cliprl_helpers.core.numerics`); a worker computing in another mode refuses it.
        first_trial: the sweep's number of this run's first trial (a run of trials ``k..``
            of a size split into several runs, ``--trials-per-run``).
    """

    chapter: str
    notebook: Path
    dir: Path
    params: dict
    spec: dict = field(default_factory=dict)
    expected_rows: int | None = None
    artifacts: str = ""
    code: str = ""
    figures: bool = True
    numerics: str = "reference"
    first_trial: int = 0

    @property
    def label(self) -> str:
        spec = ", ".join(f"{k}={v}" for k, v in self.spec.items())
        chunk = f", {self.dir.name}" if self.dir.name.startswith("trials-") else ""
        return f"chapter {self.chapter}, grid {self.params['grid_size']}{chunk}" + \
            (f" ({spec})" if spec else "")

    @staticmethod
    def parse_label(label: str) -> dict:
        """What a :attr:`label` names: ``{"chapter", "grid_size", "first_trial",
        "last_trial", "spec"}`` (trials ``None`` for a run of every trial, ``spec`` ``""``
        for the defaults); ``ValueError`` for another text."""
        m = re.fullmatch(r"chapter (\d+), grid (\d+)(?:, trials-(\d+)-(\d+))?(?: \((.*)\))?",
                         label)
        if not m:
            raise ValueError(f"not a run label: {label!r}")
        ch, n, a, b, spec = m.groups()
        return {"chapter": ch, "grid_size": int(n),
                "first_trial": None if a is None else int(a),
                "last_trial": None if b is None else int(b), "spec": spec or ""}

    def files(self) -> list[Path]:
        return [self.dir / self.notebook.name, self.dir / "results.csv",
                self.dir / "params.json"]


def code_fingerprint(notebook: Path) -> str:
    """The fingerprint of the code that computes a run's table
    (:func:`cliprl_helpers.repro.codeprint.fingerprint`: the computing modules, the notebook's code
    cells, the libraries): a run made by other code is not reused (its numbers may differ;
    the training cache makes redoing it cheap)."""

    return fingerprint(code_state(notebook))


def _marker(run: Run) -> dict:
    try:
        return dict(json.loads((run.dir / MARKER).read_text()))
    except (OSError, json.JSONDecodeError, TypeError, ValueError):
        return {}


def run_numerics(run: Run) -> dict:
    """The :func:`cliprl_helpers.repro.provenance.provenance` recorded by a finished run
    (``{}`` if none)."""
    try:
        return dict(_marker(run).get("numerics") or {})
    except (TypeError, ValueError):
        return {}


def run_seconds(run: Run) -> float | None:
    """Wall-clock seconds a finished run took to compute (``None`` if it did not record
    them)."""
    try:
        return float(_marker(run)["seconds"])
    except (KeyError, TypeError, ValueError):
        return None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_finished(run: Run) -> str:
    """``""`` if ``run`` is finished and whole, else why not (``"not run"`` if never
    finished)."""
    marker = run.dir / MARKER
    if not marker.is_file():
        return "not run"
    try:
        info = json.loads(marker.read_text())
        files, rows = dict(info["files"]), int(info["rows"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return f"{marker} is damaged"
    if info.get("params") != run.params:
        return "its parameters differ"
    if run.code and info.get("code") != run.code:
        return "it was made by another version of the package or notebook"
    made = info.get("numerics") or {}
    if made.get("numerics") != run.numerics:
        return f"it was computed in {made.get('numerics', 'unrecorded')} numerics, " \
               f"{run.numerics} asked for"

    if run.numerics == "reference" and made.get("cache_tag") != cache_tag():
        return f"it was computed on another numeric path ({made.get('cache_tag')})"
    for f in run.files():
        if not f.is_file():
            return f"{f.name} is missing"
        if files.get(f.name) != _sha256(f):
            return f"{f.name} does not match its checksum"
    problem = table_problem(run.dir / "results.csv", run)
    if problem:
        return problem
    if run.expected_rows is not None and rows != run.expected_rows:
        return f"it recorded {rows} rows, {run.expected_rows} expected"
    return ""


def table_problem(path: Path, run: Run) -> str:
    """Why the results table at ``path`` is not what ``run`` must produce (``""`` if it is)."""

    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as e:  # pandas' ParserError and EmptyDataError are ValueErrors
        return f"{path.name} cannot be read ({type(e).__name__})"
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        return f"{path.name} lacks columns {missing}"
    if run.expected_rows is not None and len(table) != run.expected_rows:
        return f"{path.name} has {len(table)} rows, {run.expected_rows} expected"
    if set(table.grid_size) != {run.params["grid_size"]}:
        return f"{path.name} holds grid sizes {sorted(set(table.grid_size))}"
    return ""


def is_finished(run: Run, warn: bool = True) -> bool:
    """True if ``run`` is finished and whole; a damaged run warns (:class:`RunDamaged`)."""
    problem = check_finished(run)
    if problem and problem != "not run" and warn:
        warnings.warn(f"{run.dir}: {problem}; redoing this run", RunDamaged, stacklevel=2)
    return not problem


@contextlib.contextmanager
def locked(path: Path, wait: bool = True):
    """Hold an exclusive lock on ``path`` (created if missing); with ``wait=False`` raise
    ``BlockingIOError`` at once if another process holds it. The lock file records the
    holder's pid; the kernel drops the lock if the holder dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing releases the lock


def lock_holder(path: Path) -> str:
    """The pid written in a lock file (``"?"`` if unknown)."""
    try:
        return path.read_text().strip() or "?"
    except OSError:
        return "?"


#: The notebook kernel's own log kept out of the sweep's output: every kernel warns that it
#: talks to papermill over local TCP without encryption, and one stopped at the end of its
#: notebook logs the interrupt as an error; a long sweep's log drowned in them. A notebook's
#: own errors still reach the sweep (papermill raises them).
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]


def execute(run: Run, root: Path) -> dict:
    """Execute ``run`` (in whichever process the engine chose) and mark it finished.

    Returns ``{"label", "seconds", "reused"}``. A run another worker finished meanwhile is
    reused. Raises ``RuntimeError`` naming the saved ``*.failed.ipynb`` if the notebook fails.
    """
    import papermill  # lazy: papermill takes seconds to import; only running a chapter needs it


    here = numerics.mode()
    if here != run.numerics:
        raise RuntimeError(f"{run.label}: this worker computes in {here} numerics but the sweep "
                           f"asked for {run.numerics}; start the workers with "
                           f"{numerics.ENV_VAR}={run.numerics}")
    t0 = time.perf_counter()
    with locked(run.dir / ".lock"):
        if is_finished(run, warn=False):
            return {"label": run.label, "seconds": 0.0, "reused": True}
        (run.dir / MARKER).unlink(missing_ok=True)  # whatever was there is not finished now
        for litter in run.dir.glob(".*.running.*"):  # left by an interrupted run
            litter.unlink(missing_ok=True)
        for f in run.files():
            f.unlink(missing_ok=True)
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"  # never shared with another process
        tmp_nb = run.dir / f".{run.notebook.stem}.{tag}.running.ipynb"
        tmp_csv = run.dir / f".results.{tag}.running.csv"
        try:
            with _environment(run):
                if run.chapter == "05":
                    _prepare(run.params)
                papermill.execute_notebook(
                    str(run.notebook), str(tmp_nb),
                    parameters={**run.params, "results_csv": str(tmp_csv)},
                    cwd=str(root / "notebooks"), progress_bar=False, kernel_name="python3",
                    extra_arguments=KERNEL_ARGUMENTS)
            problem = table_problem(tmp_csv, run)
            if problem:
                raise RuntimeError(problem)
        except BaseException as e:
            tmp_csv.unlink(missing_ok=True)
            failed = run.dir / run.notebook.name.replace(".ipynb", ".failed.ipynb")
            if tmp_nb.exists():
                tmp_nb.replace(failed)
            else:
                failed = None
            if not isinstance(e, Exception):
                raise  # interrupted: leave nothing that looks finished
            last = str(e).strip().splitlines()[-1] if str(e).strip() else ""
            raise RuntimeError(f"{run.label} failed: {type(e).__name__}: {last}"
                               + (f"; the notebook is in {failed}" if failed else "")) from None
        tmp_csv.replace(run.dir / "results.csv")
        tmp_nb.replace(run.dir / run.notebook.name)
        atomic_write(run.dir / "params.json", json.dumps(run.params, sort_keys=True).encode())
        (run.dir / run.notebook.name.replace(".ipynb", ".failed.ipynb")).unlink(missing_ok=True)

        rows = len(pd.read_csv(run.dir / "results.csv"))
        marker = {"params": run.params, "rows": rows, "code": run.code,
                  "seconds": round(time.perf_counter() - t0, 1),
                  "numerics": provenance.provenance(),
                  "files": {f.name: _sha256(f) for f in run.files()}}
        atomic_write(run.dir / MARKER, json.dumps(marker, indent=1, sort_keys=True).encode())
    return {"label": run.label, "seconds": time.perf_counter() - t0, "reused": False}


@contextlib.contextmanager
def _environment(run: Run):
    """This process's environment while ``run`` trains and its kernel (which inherits it)
    runs: ``CLIPRL_ARTIFACTS`` set to the run's cache, ``CLIPRL_RECORD_CHECKS`` unset (a
    sweep's runs never record the book's references, even when ``make store`` runs one), and
    without figures ``MPLBACKEND=agg`` (``plt.show()`` then renders nothing into the notebook,
    which saved 3.4 s of a chapter 5 run's 15 s). The previous values come back afterwards."""

    values = {"CLIPRL_ARTIFACTS": run.artifacts or None,
              "MPLBACKEND": None if run.figures else "agg"}
    values = {k: v for k, v in values.items() if v is not None}
    before = {k: os.environ.get(k) for k in [*values, RECORD_ENV]}
    os.environ.update(values)
    os.environ.pop(RECORD_ENV, None)  # a sweep's runs never record published references
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _prepare(params: dict) -> None:
    """Train (or find) everything chapter 5 will ask for with ``params``, in as few
    populations as possible (the notebook then loads it from the cache)."""

    kwargs = {k: v for k, v in params.items() if k not in ("grid_size", "readings")}
    config = ExperimentConfig.from_parameters(**kwargs)
    with warnings.catch_warnings():  # the notebook reports them
        warnings.simplefilter("ignore", NegativeWeightWarning)
        prepare_grid(params["grid_size"], params["readings"], config, progress=False)
