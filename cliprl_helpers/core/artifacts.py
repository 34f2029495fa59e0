"""Trained weights on disk: safetensors + JSON metadata, atomic writes, a config-keyed cache.

An artifact is two files side by side:

* ``<name>.safetensors`` — the tensors (never pickle);
* ``<name>.json`` — metadata: the config that produced them, seeds, goals, instructions,
  steps-to-converge, ..., plus the tensors' names/shapes and the SHA-256 of the
  safetensors file.

Both are written to a temporary file and renamed, JSON last, so a crash never leaves an
artifact that looks complete. Loading checks the hash and shapes; a missing, truncated,
corrupt or mismatched artifact raises ``ValueError`` saying which file and what is wrong.

The cache key of an artifact is a hash of the JSON-serialised config that produced it and of
the numeric path it was computed on (:mod:`cliprl_helpers.core.numerics`), so the same parameters
on the same path load instead of retraining, and any changed parameter, or another path,
retrains.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .numerics import cache_tag

FORMAT_VERSION = 1


def project_root(start: str | os.PathLike | None = None) -> Path:
    """The book's root: the nearest directory at or above ``start`` holding ``_config.yml``.

    Notebooks run from ``notebooks/``; this lets them find ``artifacts/`` and ``runs/``.
    Falls back to ``start`` (default: the working directory) when there is none.
    """
    here = Path(start or os.getcwd()).resolve()
    for d in (here, *here.parents):
        if (d / "_config.yml").is_file() and (d / "cliprl_helpers").is_dir():
            return d
    return here


def artifacts_dir() -> Path:
    """``$CLIPRL_ARTIFACTS`` if set, else ``<project root>/artifacts``."""
    env = os.environ.get("CLIPRL_ARTIFACTS")
    return Path(env) if env else project_root() / "artifacts"


def cache_key(config: Any, numerics: str | None = None) -> str:
    """A short stable hash of a JSON-serialisable config (dict keys sorted) and of the numeric
    path of this process (``numerics``, default :func:`cliprl_helpers.core.numerics.cache_tag`): a
    result computed with other kernels (native mode, another machine's native kernels) is never
    read back. Trained policies pass :func:`cliprl_helpers.core.numerics.trainer_tag` (the trainer's
    bits do not depend on the kernels)."""
    blob = json.dumps({"config": config, "numerics": numerics or cache_tag()}, sort_keys=True,
                      separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(directory: str | os.PathLike, name: str, tensors: dict[str, torch.Tensor],
         metadata: dict[str, Any]) -> Path:
    """Write ``tensors`` and ``metadata`` as artifact ``name`` in ``directory``.

    Returns the path of the JSON file. ``metadata`` must be JSON-serialisable.
    """
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"artifact name must be a plain file stem, got {name!r}")
    directory = Path(directory)
    if not isinstance(tensors, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in tensors.items()):
        raise ValueError(f"tensors must be a dict of name -> torch.Tensor, got "
                         f"{type(tensors).__name__}")
    if not isinstance(metadata, dict):
        raise ValueError(f"metadata must be a dict, got {type(metadata).__name__}")
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    blob = st_save(tensors)
    meta = {
        "format_version": FORMAT_VERSION,
        "sha256": hashlib.sha256(blob).hexdigest(),
        "tensors": {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in
                    tensors.items()},
        "metadata": metadata,
    }
    text = json.dumps(meta, indent=1, sort_keys=True, default=_json_default)
    atomic_write(directory / f"{name}.safetensors", blob)
    atomic_write(directory / f"{name}.json", text.encode())
    return directory / f"{name}.json"


def _json_default(o):
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON-serialisable: {type(o).__name__}")


def exists(directory: str | os.PathLike, name: str) -> bool:
    """True if both files of artifact ``name`` are present."""
    d = Path(directory)
    return (d / f"{name}.json").is_file() and (d / f"{name}.safetensors").is_file()


def load(directory: str | os.PathLike, name: str) -> tuple[dict[str, torch.Tensor], dict]:
    """Read artifact ``name``: ``(tensors, metadata)``; raises ``ValueError`` if unusable."""
    d = Path(directory)
    jpath, tpath = d / f"{name}.json", d / f"{name}.safetensors"
    for p in (jpath, tpath):
        if not p.is_file():
            raise ValueError(f"artifact file {p} is missing; delete the other half and retrain")
    try:
        meta = json.loads(jpath.read_text())
        want_hash, want_tensors = meta["sha256"], meta["tensors"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"artifact metadata {jpath} is corrupt ({e}); delete it and retrain") \
            from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"artifact {jpath} has format_version {meta.get('format_version')!r}, "
                         f"this code reads {FORMAT_VERSION}")
    blob = tpath.read_bytes()
    if hashlib.sha256(blob).hexdigest() != want_hash:
        raise ValueError(f"artifact weights {tpath} do not match the SHA-256 in {jpath.name} "
                         f"(truncated or corrupt); delete both files and retrain")
    try:
        tensors = st_load(blob)
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise ValueError(f"artifact weights {tpath} cannot be read as safetensors: {e}") \
            from None
    got = {k: list(v.shape) for k, v in tensors.items()}
    if got != {k: v["shape"] for k, v in want_tensors.items()}:
        raise ValueError(f"artifact weights {tpath} hold tensors {got}, but {jpath.name} "
                         f"describes {want_tensors}")
    return tensors, meta["metadata"]


def cached_table(config: dict, compute, directory: str | os.PathLike | None = None,
                 prefix: str = "table"):
    """Return ``compute()`` (a pandas DataFrame), cached as CSV under a key of ``config``.

    The same ``config`` reads the CSV back instead of recomputing; any change recomputes.
    ``config`` must hold everything that can change a number (callers include the trainer
    version: see :func:`cliprl_helpers.core.leave_one_out.leave_one_out`). The CSV is written
    atomically, with ``config``, its row count and SHA-256 beside it as JSON; a CSV that does
    not match them (truncated, edited, damaged) is recomputed, with a warning.
    """
    d = Path(directory) if directory is not None else artifacts_dir()
    name = f"{prefix}-{cache_key(config)}"
    csv, meta = d / f"{name}.csv", d / f"{name}.json"
    if csv.is_file() and meta.is_file():
        problem = _table_problem(csv, meta, config)
        if not problem:
            return pd.read_csv(csv)
        warnings.warn(f"cached table {csv} is not usable ({problem}); recomputing it",
                      stacklevel=2)
    table = compute()
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"compute() must return a pandas DataFrame, got {type(table).__name__}")
    blob = table.to_csv(index=False).encode()
    atomic_write(csv, blob)
    atomic_write(meta, json.dumps({"config": config, "rows": len(table),
                                   "sha256": hashlib.sha256(blob).hexdigest()},
                                  indent=1, sort_keys=True, default=str).encode())
    return pd.read_csv(csv)


def _table_problem(csv: Path, meta: Path, config: dict) -> str:
    """Why a cached CSV cannot be trusted (``""`` if it can)."""
    try:
        info = json.loads(meta.read_text())
        rows, digest = int(info["rows"]), info["sha256"]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        return "its JSON description is missing or damaged"
    if cache_key(info.get("config")) != cache_key(config):
        return "it was made from another config"
    blob = csv.read_bytes()
    if hashlib.sha256(blob).hexdigest() != digest:
        return f"its content does not match the SHA-256 recorded for its {rows} rows"
    return ""


def write_csv(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``table`` to ``path`` atomically (temp file, then rename)."""
    path = Path(path)
    atomic_write(path, table.to_csv(index=False).encode())
    return path
