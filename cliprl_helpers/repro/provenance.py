"""Provenance: how a process computed its numbers, for the file beside every result table
(package and trainer versions, the git commit of the checkout, library versions, the CPU,
the numerics mode and kernel path, threads)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import torch

from .. import __version__
from ..core import numerics
from ..core.artifacts import project_root
from ..core.dqn import TRAINER_VERSION


def git_commit(root: Path) -> str | None:
    """HEAD's commit, ``-dirty`` when a tracked file outside ``results/`` has changed (the
    published tables are data: a publish rewrites them between its stages)."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10)
        if head.returncode:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ".", ":(exclude)results"],
                               cwd=root, capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _library_versions() -> dict:
    shown = torch.__config__.show()
    mkl = re.search(r"Math Kernel Library Version ([0-9][0-9.]*)", shown)
    dnn = re.search(r"MKL-DNN v([^\s]+)", shown)
    return {"torch": torch.__version__, "mkl": mkl.group(1) if mkl else None,
            "onednn": dnn.group(1) if dnn else None}


def provenance() -> dict:
    """How this process computes its numbers, for the file beside a result table: package
    and trainer versions, git commit (when in a checkout), library versions, CPU, numerics
    mode and kernel path, threads."""
    return {"package_version": __version__, "trainer_version": TRAINER_VERSION,
            "git_commit": git_commit(project_root(Path(__file__).parent)),
            **_library_versions(), "python": sys.version.split()[0],
            "numerics": numerics.mode(), "cache_tag": numerics.cache_tag(),
            "guaranteed": numerics.guaranteed(),
            "kernel_path": numerics.kernel_path(), "threads": torch.get_num_threads(),
            "description": numerics.describe()}


def provenance_file(summary_csv: str | Path) -> Path:
    """The provenance file beside a summary: ``summary.csv`` -> ``provenance.json``,
    ``summary-ch07.csv`` -> ``provenance-ch07.json``."""
    summary_csv = Path(summary_csv)
    return summary_csv.with_name(summary_csv.name.replace("summary", "provenance")
                                 .replace(".csv", ".json"))


def _short_commit(commit) -> str:
    if not commit:
        return "unknown"
    commit = str(commit)
    return commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")


def describe_provenance(path: str | Path) -> str:
    """How a summary's numbers were computed, from its provenance file, as a phrase to follow
    "How they were computed:" (``"not recorded (... missing)"`` without the file)."""
    try:
        info = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return f"not recorded ({Path(path).name} missing)"
    mode = "/".join(info.get("numerics", [])) or "unrecorded"
    sure = ("the same bits on every x86-64-v3 CPU" if info.get("guaranteed") else
            "numbers may differ on other machines")
    return (f"{mode} numerics ({sure}) on {', '.join(info.get('cpus', []))}, "
            f"package {info.get('package_version')}, trainer version "
            f"{info.get('trainer_version')}, commit {_short_commit(info.get('git_commit'))}, "
            f"torch {info.get('torch')}")


def describe_source(table, source: Path) -> str:
    """``folder/file: grid sizes [...], T trials, R runs, C censored`` for a results table."""
    sizes = sorted(int(n) for n in table.grid_size.unique())
    return (f"{source.parent.name}/{source.name}: grid sizes {sizes}, {table.trial.nunique()} "
            f"trials, {len(table)} runs, {int(table.censored.sum())} censored")
