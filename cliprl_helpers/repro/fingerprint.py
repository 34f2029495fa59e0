"""Four SHA-256s that identify the numbers a machine computes: ``python -m
cliprl_helpers.repro.fingerprint``.

* ``embeddings``: the float32 bytes of the sentence embeddings of the paper's six
  instructions (:data:`INSTRUCTIONS`, in that order, one ``(6, 384)`` matrix);
* ``alignment``: the float32 bytes of trial 0's trained alignment (its state dict, keys
  sorted) in ``run_grid(8, n_trials=2)``;
* ``steps``: ``run_grid(8, n_trials=2).table`` sorted by method and trial, columns
  ``method, trial, steps_to_converge``, written with ``to_csv(index=False)``;
* ``trainer``: the float32 bytes of that run's trained base policies (``W1, b1, W2, b2`` of
  both trials): the DQN trainer alone, which uses no CPU-dependent kernel
  (:mod:`cliprl_helpers.core.qnet`, :mod:`cliprl_helpers.core.adam`) and so gives these bits in
  native
  numerics too.

In reference numerics (:mod:`cliprl_helpers.core.numerics`) they are the same on every x86-64
CPU and equal :data:`PUBLISHED`; ``tests/test_numerics.py`` computes them under every
kernel path the machine can emulate. The command prints them with the machine's kernel path
and says whether they match. Everything is computed from nothing (a temporary cache).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import warnings

import numpy as np

from ..core import numerics
from ..core.dqn import PARAM_NAMES
from ..core.experiment import run_grid
from ..core.language import Encoder

#: The paper's four base instructions and the target in both readings.
INSTRUCTIONS = ("top left first", "top left second", "top right first", "top right second",
                "top left third", "top right third")
#: The fingerprints of the reference numerics (see the module docstring).
PUBLISHED = {
    "embeddings": "84dd6b15ef26e73dbe5dfb4edb6cc5bf6a95b333e499c990f3b912d6762c1ca1",
    "alignment": "bb5364aaafd9762a17ee8cdf11ee60ed724a5da445f855181ca8968ed58226fa",
    "steps": "b9b6bf994ff86892d40c3697ff37697a243d674de8cbb7ef569e412c98dc45f5",
    "trainer": "6bf234abc94071940af50ac06a9564bfd939d8283a64f55baa27460e388c32a9",
}


def _sha(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


def compute() -> dict:
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
        prog="python -m cliprl_helpers.repro.fingerprint",
        description="Compute the SHA-256 fingerprints of this machine's numbers (embeddings, "
                    "an alignment, a small experiment, the trainer) and compare them with the "
                    "book's reference.")
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    parser.add_argument("--env", action="store_true",
                        help="print only the reference pins as NAME=value words, for a process "
                             "started by hand: env $(python -m cliprl_helpers.repro.fingerprint "
                             "--env) dask worker ...")
    args = parser.parse_args(argv)
    if args.env:
        print(numerics.environment_line())
        return 0
    got = compute()
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
