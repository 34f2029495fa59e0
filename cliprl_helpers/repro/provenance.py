"""Provenance: how a process computed its numbers, for the file beside every result table
(package and trainer versions, the git commit of the checkout, library versions, the CPU,
the numerics mode and kernel path, threads)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import torch

from .. import __version__
from ..core import numerics
from ..core.artifacts import project_root
from ..core.dqn import TRAINER_VERSION


def _git_commit(root: Path) -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, timeout=10)
        if head.returncode:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
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
            "git_commit": _git_commit(project_root(Path(__file__).parent)),
            **_library_versions(), "python": sys.version.split()[0],
            "numerics": numerics.mode(), "cache_tag": numerics.cache_tag(),
            "guaranteed": numerics.guaranteed(),
            "kernel_path": numerics.kernel_path(), "threads": torch.get_num_threads(),
            "description": numerics.describe()}

