"""Checking a chapter's results against the published reference, on any machine (all chapters).

A chapter's compared output (the cells nbval checks) must be the same text on every machine,
yet its numbers are guaranteed to the bit only in reference numerics on x86-64
(:mod:`cliprl_helpers.core.numerics`). So a chapter does not print its numbers for nbval: it hands
them to :func:`check`, which compares them with the reference recorded in
``results/checks.json`` for the same check and parameters and prints one line:

* where the bits are guaranteed, the table must be **identical** (every value, to the bit);
* elsewhere (native numerics, another architecture) it must agree within the check's
  :class:`Tolerance` per column: floats within ``Close(atol)``, steps-to-converge within a
  ``Steps(factor)`` of the reference's geometric mean per group, ratios each within a
  ``Factor(factor)``, discrete outcomes in at least ``Agree(share)`` of the rows; key
  columns (trial, method, ...) always exactly.

Either way the line reads ``<name>: matches the published reference`` when it holds, so the
stored output is the same everywhere; a failure names the column and the size of the change.
The chapter shows its numbers to the reader in cells nbval does not compare.

``make store`` records references (``CLIPRL_RECORD_CHECKS=1``, reference numerics on x86-64
only) at a chapter's stored parameters and at its ``make test`` parameters.

The same question for a machine as a whole, without a chapter: :func:`fingerprints` (``python
-m cliprl_helpers.repro.reference``) computes four SHA-256s from nothing and compares them with
:data:`PUBLISHED`:

* ``embeddings``: the float32 bytes of the sentence embeddings of the paper's six
  instructions (:data:`INSTRUCTIONS`, in that order, one ``(6, 384)`` matrix);
* ``alignment``: the float32 bytes of trial 0's trained alignment (its state dict, keys
  sorted) in ``run_grid(8, n_trials=2)``;
* ``steps``: ``run_grid(8, n_trials=2).table`` sorted by method and trial, columns
  ``method, trial, steps_to_converge``, written with ``to_csv(index=False)``;
* ``trainer``: the float32 bytes of that run's trained base policies (``W1, b1, W2, b2`` of
  both trials): the DQN trainer alone, which uses no CPU-dependent kernel
  (:mod:`cliprl_helpers.core.qnet`, :mod:`cliprl_helpers.core.adam`) and so gives these bits
  in native numerics too.

In reference numerics they are the same on every x86-64 CPU; ``tests/test_numerics.py``
computes them under every kernel path the machine can emulate.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import io
import json
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis import libm
from ..core import numerics
from ..core.artifacts import atomic_write, project_root
from ..core.dqn import PARAM_NAMES
from ..core.experiment import run_grid
from ..core.language import Encoder
from . import provenance

RECORD_ENV = "CLIPRL_RECORD_CHECKS"
MATCH = "matches the published reference"


def checks_file() -> Path:
    """``results/checks.json`` of the book."""
    return project_root(Path(__file__).parent) / "results" / "checks.json"


@dataclass(frozen=True)
class Close:
    """Floats agree within ``atol`` (absolute), row by row."""

    atol: float

    def problem(self, got: pd.Series, want: pd.Series, table: pd.DataFrame) -> str:
        diff = np.abs(got.to_numpy(float) - want.to_numpy(float))
        worst = float(np.nanmax(diff)) if diff.size else 0.0
        same_nan = np.array_equal(np.isnan(got.to_numpy(float)), np.isnan(want.to_numpy(float)))
        if not same_nan:
            return "NaN in other rows"
        return "" if worst <= self.atol else f"max |difference| {worst:.3g} > {self.atol:g}"


@dataclass(frozen=True)
class Steps:
    """Steps-to-converge: per group of ``by`` columns, the geometric mean of ``steps +
    resolution`` within a factor ``factor`` of the reference's (a chaotic quantity: on
    another numeric path single runs differ, their typical size should not)."""

    factor: float
    by: tuple[str, ...] = ()
    resolution: int = 128

    def problem(self, got: pd.Series, want: pd.Series, table: pd.DataFrame) -> str:
        keys = [table[c].astype(str) for c in self.by] or [pd.Series("all", index=table.index)]
        g = libm.log(got.to_numpy(float) + self.resolution)
        w = libm.log(want.to_numpy(float) + self.resolution)
        frame = pd.DataFrame({"g": g, "w": w}).groupby([k.to_numpy() for k in keys]).mean()
        ratio = libm.exp(frame.g - frame.w)
        bad = ratio[(ratio > self.factor) | (ratio < 1 / self.factor)]
        if len(bad):
            where, r = next(iter(bad.items()))
            return f"geometric mean of {where} is {r:.2f}x the reference's (allowed " \
                   f"{1 / self.factor:.2f}x to {self.factor:.2f}x)"
        return ""


@dataclass(frozen=True)
class Factor:
    """Positive values (ratios) each within a factor ``factor`` of the reference's."""

    factor: float

    def problem(self, got: pd.Series, want: pd.Series, table: pd.DataFrame) -> str:
        g, w = got.to_numpy(float), want.to_numpy(float)
        if not np.array_equal(np.isnan(g), np.isnan(w)):
            return "NaN in other rows"
        ok = ~np.isnan(w)
        r = g[ok] / w[ok]
        bad = np.flatnonzero((r > self.factor) | (r < 1 / self.factor))
        return "" if not bad.size else f"{bad.size} value(s) off by more than a factor " \
                                       f"{self.factor:g}, e.g. {g[ok][bad[0]]:.3g} against " \
                                       f"{w[ok][bad[0]]:.3g}"


@dataclass(frozen=True)
class Agree:
    """Discrete outcomes (bool, int, labels) equal in at least ``share`` of the rows."""

    share: float

    def problem(self, got: pd.Series, want: pd.Series, table: pd.DataFrame) -> str:
        same = float((_text(got) == _text(want)).mean())
        return "" if same >= self.share else f"equal in {same:.0%} of rows < {self.share:.0%}"


Tolerance = Close | Steps | Factor | Agree


def _text(values: pd.Series) -> np.ndarray:
    """Values as text for exact comparison, a missing value as ``"nan"`` (pandas' own string
    conversion keeps missing values missing, and missing never equals missing)."""
    return np.array(["nan" if pd.isna(x) else str(x) for x in values], dtype=object)


def _canonical(table: pd.DataFrame) -> pd.DataFrame:
    """The table as it is stored: a fresh index, floats as float64, the rest as text-safe
    values."""
    out = table.reset_index(drop=True).copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].astype("float64")
    return out


def _csv(table: pd.DataFrame) -> str:
    return table.to_csv(index=False)


def _key(params: dict) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)


def _load() -> dict:
    path = checks_file()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError as e:
        raise ValueError(f"{path} is damaged ({e}); restore it from git") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object of checks; restore it from git")
    return data


@dataclass
class Check:
    """The outcome of :func:`check`; printing it gives the one line nbval compares."""

    name: str
    verdict: str
    exact: bool

    def __repr__(self) -> str:
        return f"{self.name}: {self.verdict}"

    __str__ = __repr__

    @property
    def ok(self) -> bool:
        return self.verdict == MATCH


def check(name: str, table: pd.DataFrame, *, params: dict,
          tolerance: dict[str, Tolerance] | None = None) -> Check:
    """Compare ``table`` with the reference of check ``name`` at ``params`` (see the module
    docstring); returns a :class:`Check` to print.

    Args:
        name: the check, e.g. ``"ch03 sentence cosines"``.
        table: the results; columns without a tolerance must match exactly everywhere
            (use them for keys and for values that do not depend on floating-point bits).
        params: the chapter parameters the results depend on (a reference is kept per set).
        tolerance: per column, how close another numeric path must come.

    Raises ``ValueError`` for a float column without a tolerance (it could not match off the
    reference path) or an unknown column in ``tolerance``.
    """
    tolerance = dict(tolerance or {})
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ValueError(f"{name}: check needs a non-empty pandas DataFrame")
    unknown = [c for c in tolerance if c not in table.columns]
    floats = [c for c in table.columns if pd.api.types.is_float_dtype(table[c])]
    loose = [c for c in floats if c not in tolerance]
    if unknown or loose:
        raise ValueError(f"{name}: tolerance names columns {unknown} not in the table; float "
                         f"columns {loose} need a tolerance (Close, Steps, Factor or Agree)")
    table = _canonical(table)
    key = _key(params)
    if os.environ.get(RECORD_ENV):
        _record(name, key, params, table)
        return Check(name, MATCH, True)
    entry = _load().get(name, {}).get(key)
    if entry is None:
        return Check(name, f"no published reference for these parameters ({key})", False)
    want = pd.read_csv(io.StringIO(entry["csv"]))
    exact = numerics.guaranteed()
    if exact:
        same = _csv(table) == entry["csv"]
        return Check(name, MATCH if same else "DIFFERS from the published reference: "
                     + _first_difference(table, want), True)
    problem = _tolerant_problem(table, want, tolerance)
    return Check(name, MATCH if not problem else
                 f"DIFFERS from the published reference: {problem}", False)


def _first_difference(table: pd.DataFrame, want: pd.DataFrame) -> str:
    if list(table.columns) != list(want.columns) or len(table) != len(want):
        return f"shape {table.shape} / columns {list(table.columns)} against the reference's " \
               f"{want.shape} / {list(want.columns)}"
    got = pd.read_csv(io.StringIO(_csv(table)))
    for c in table.columns:
        a, b = _text(got[c]), _text(want[c])
        rows = np.flatnonzero(a != b)
        if rows.size:
            r = int(rows[0])
            return f"{rows.size} row(s) of column {c!r} differ, first row {r}: {a[r]} " \
                   f"(reference {b[r]})"
    return "the text differs"


def _tolerant_problem(table: pd.DataFrame, want: pd.DataFrame,
                      tolerance: dict[str, Tolerance]) -> str:
    if list(table.columns) != list(want.columns) or len(table) != len(want):
        return _first_difference(table, want)
    got = pd.read_csv(io.StringIO(_csv(table)))
    for c in table.columns:
        if c in tolerance:
            problem = tolerance[c].problem(got[c], want[c], got)
        else:
            problem = "" if (_text(got[c]) == _text(want[c])).all() else \
                _first_difference(got[[c]], want[[c]])
        if problem:
            return f"column {c!r}: {problem}"
    return ""


def _record(name: str, key: str, params: dict, table: pd.DataFrame) -> None:
    if not numerics.guaranteed():
        raise RuntimeError(f"{name}: references are recorded in reference numerics on x86-64 "
                           f"only (this process: {numerics.describe()})")
    path = checks_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / ".checks.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = _load()
        data.setdefault(name, {})[key] = {"params": params, "csv": _csv(table),
                                          "trainer_version": provenance.provenance()[
                                              "trainer_version"]}
        atomic_write(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())


#: The paper's four base instructions and the target in both readings.
INSTRUCTIONS = ("top left first", "top left second", "top right first", "top right second",
                "top left third", "top right third")
#: The fingerprints of the reference numerics (:func:`fingerprints`).
PUBLISHED = {
    "embeddings": "84dd6b15ef26e73dbe5dfb4edb6cc5bf6a95b333e499c990f3b912d6762c1ca1",
    "alignment": "bb5364aaafd9762a17ee8cdf11ee60ed724a5da445f855181ca8968ed58226fa",
    "steps": "b9b6bf994ff86892d40c3697ff37697a243d674de8cbb7ef569e412c98dc45f5",
    "trainer": "6bf234abc94071940af50ac06a9564bfd939d8283a64f55baa27460e388c32a9",
}


def _sha(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def fingerprints() -> dict:
    """``{"embeddings", "alignment", "steps", "trainer"}`` SHA-256s, computed in a temporary
    cache."""
    emb = Encoder(cache_dir=False)(list(INSTRUCTIONS)).numpy().astype(np.float32)
    with tempfile.TemporaryDirectory(prefix="cliprl-fingerprint-") as tmp, \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_grid(8, n_trials=2, cache_dir=tmp, progress=False)
    state = result.alignments[0].state_dict()
    align = b"".join(state[k].detach().to("cpu").float().contiguous().numpy().tobytes()
                     for k in sorted(state))
    table = result.table.sort_values(["method", "trial"])[
        ["method", "trial", "steps_to_converge"]]
    bases = b"".join(result.bases.params[k].float().contiguous().numpy().tobytes()
                     for k in PARAM_NAMES)
    return {"embeddings": _sha(emb.tobytes()), "alignment": _sha(align),
            "steps": _sha(table.to_csv(index=False).encode()), "trainer": _sha(bases)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cliprl_helpers.repro.reference",
        description="Compute the SHA-256 fingerprints of this machine's numbers (embeddings, "
                    "an alignment, a small experiment, the trainer) and compare them with the "
                    "book's reference.")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument("--env", action="store_true",
                        help="print only the reference pins as NAME=value words, for a process "
                             "started by hand: env $(python -m cliprl_helpers.repro.reference "
                             "--env) dask worker ...")
    args = parser.parse_args(argv)
    if args.env:
        print(numerics.environment_line())
        return 0
    got = fingerprints()
    if args.json:
        print(json.dumps({"fingerprints": got, "kernel_path": numerics.kernel_path()}))
        return 0
    print(numerics.describe())
    same = all(got[k] == PUBLISHED[k] for k in got)
    for k, v in got.items():
        print(f"  {k:<10} {v}  {'= reference' if v == PUBLISHED[k] else 'differs'}")
    print("These are the book's reference numbers." if same else
          "These differ from the book's reference numbers"
          + (": please report it, with the lines above." if numerics.guaranteed() else
             " (expected outside reference numerics on x86-64)."))
    return 0 if same or not numerics.guaranteed() else 1


if __name__ == "__main__":
    sys.exit(main())
