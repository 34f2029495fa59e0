"""Reference numerics: the same bits on every x86-64 CPU, and the tag of the numeric path.

CPU floating-point kernels differ by machine. MKL picks an AVX2 or AVX-512 code path and
reduces in a different order on each; ATen (torch's own kernels) is compiled once per CPU
capability (``default``, ``avx2``, ``avx512``) and picks the widest the CPU has, with fused
multiply-adds where the capability allows them; oneDNN has code paths of its own. A chaotic
computation (300 Adam steps of an alignment, a DQN run) turns a last-bit difference into a
different result, so without a pin the book's numbers would change with the reader's CPU.

**Reference mode** (the default) pins one numeric path before torch computes anything:

* ``MKL_CBWR=COMPATIBLE``: MKL's conditional numerical reproducibility on its SSE2 code path,
  the one branch MKL honours on every x86-64 CPU. (``MKL_CBWR=AVX2`` is honoured on Intel
  CPUs only: on AMD, MKL silently runs its automatic branch instead, see
  :func:`mkl_branch`.)
* ``ATEN_CPU_CAPABILITY=default``: torch's kernels compiled for the x86-64 baseline, which
  every x86-64 CPU runs the same way (no FMA contraction, no vector-width-dependent sums).
* oneDNN off (``torch.backends.mkldnn.enabled = False``; ``ONEDNN_MAX_CPU_ISA=SSE41`` in case
  anything reaches it anyway).
* one thread (:mod:`cliprl_helpers.repro.threads`);
* numpy's own SIMD loops capped at AVX2, x86-64-v3 (``NPY_DISABLE_CPU_FEATURES`` naming its
  AVX-512 dispatch targets: :data:`NUMPY_DISPATCH_OFF`). numpy picks its kernels by CPU when it
  is imported: on an AVX-512 CPU its float64 ``log``/``exp``/``power`` run numpy's own AVX-512
  code, on an AVX2 CPU the C library's, and the last bit differs. Capped at AVX2, every CPU of
  the guarantee (x86-64-v3: AVX2 and FMA) runs the same numpy code. (The x86-64 baseline would
  cover older CPUs too, but it made training 35% slower: numpy's AVX2 loops are on the
  trainer's path; measured in ``book/how_to_run.md``.) Reductions (``sum``, ``mean``, ``std``)
  and elementwise arithmetic give the same bits at every dispatch level; the statistics do not
  rely on the pin either (:mod:`cliprl_helpers.analysis.libm`), but any other numpy code a notebook
  runs
  does.

Libraries on the path of a compared number, and how each is held:

=====================  ==========================================================================
MKL (torch's BLAS)     ``MKL_CBWR=COMPATIBLE``, read back with ``mkl_serv_cbwr_get``
ATen (torch kernels)   ``ATEN_CPU_CAPABILITY=default``, read back with ``get_cpu_capability``
oneDNN                 off (``torch.backends.mkldnn.enabled = False``; ``ONEDNN_MAX_CPU_ISA``)
numpy                  dispatch capped at AVX2, read back from ``__cpu_features__``
numba (the trainer)    no pin needed: no fastmath, no reductions it may reorder (exact loops)
scipy                  its own compiled code (t, normal and noncentral-t distributions, brentq)
                       has no CPU dispatch; its array work goes through numpy (pinned above)
glibc's libm           ``log``/``exp`` pick an FMA variant where the CPU has FMA: the guarantee
                       covers x86-64-v3 CPUs (AVX2 and FMA: Intel since Haswell, 2013, AMD
                       since Excavator, 2015); older ones compare within tolerances
OpenBLAS (numpy's)     not pinned: its kernels follow the CPU (``OPENBLAS_CORETYPE`` is the
                       machine's to set), so no compared number goes through numpy's ``@``,
                       ``dot`` or ``linalg``; sums of products are written as ``np.sum(a * b)``
=====================  ==========================================================================

Importing :mod:`cliprl_helpers` calls :func:`pin`; it sets the environment variables for this
process *and every process it starts* (notebook kernels, papermill runs, local Dask
workers), and checks that they took effect. They cannot take effect once torch has computed
something (its kernel choice is made on first use): then :func:`pin` raises ``RuntimeError``
saying what to do, rather than computing on another path while claiming the reference one.

**Native mode** (``CLIPRL_NUMERICS=native``) leaves torch's own choices alone: faster on
some CPUs, and the numbers then depend on the machine (and on ``ATEN_CPU_CAPABILITY``,
``MKL_ENABLE_INSTRUCTIONS``, ``ONEDNN_MAX_CPU_ISA`` if set). Caches and results record the
mode (:func:`cache_tag`, :func:`provenance`), so numbers of the two modes, or of two native
machines, never mix.

The DQN trainer itself needs none of this: it uses no CPU-dependent kernel
(:mod:`cliprl_helpers.core.qnet`, :mod:`cliprl_helpers.core.adam`), so trained policies are the
same in
either mode (:func:`trainer_tag`). The pins matter for the sentence encoder and the alignment,
whose matrix products, softmaxes and GELUs go through MKL and torch's per-CPU kernels.

The guarantee covers x86-64-v3 CPUs (AVX2 and FMA), Intel and AMD, with or without AVX-512.
``tests/test_numerics.py`` proves it on one machine by computing the sentence embeddings,
an alignment and a small experiment under the native path and under every lower kernel path
the machine can emulate (``MKL_ENABLE_INSTRUCTIONS``, ``ONEDNN_MAX_CPU_ISA``, and glibc's
``GLIBC_TUNABLES`` hiding AVX2 and FMA from its maths library), and checks that the same
computation without the pins does change with the kernel path. Other architectures (an ARM
laptop) compute on their own path: their numbers may differ in the last bits and, through
chaotic training, beyond (:func:`guaranteed` is False there).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import platform
import sys
from functools import lru_cache
from pathlib import Path

ENV_VAR = "CLIPRL_NUMERICS"
MODES = ("reference", "native")
#: Bump when the reference path changes (part of every cache key made in reference mode).
REFERENCE_VERSION = 2
#: numpy's dispatch targets above AVX2 (numpy 2.4 dispatches X86_V3, X86_V4, AVX512_ICL and
#: AVX512_SPR above its X86_V2 baseline; names a CPU lacks are ignored). Disabling them caps
#: numpy at X86_V3 (AVX2, FMA), the level of every CPU the guarantee covers.
NUMPY_DISPATCH_OFF = "X86_V4,AVX512_ICL,AVX512_SPR"
#: The CPU features the guarantee needs (x86-64-v3's vector part), as /proc/cpuinfo names them.
GUARANTEE_ISA = ("avx2", "fma")
#: What reference mode puts in the environment before torch and numpy are imported.
REFERENCE_ENV = {"MKL_CBWR": "COMPATIBLE", "ATEN_CPU_CAPABILITY": "default",
                 "ONEDNN_MAX_CPU_ISA": "SSE41", "NPY_DISABLE_CPU_FEATURES": NUMPY_DISPATCH_OFF}
#: Environment variables that select kernel paths (recorded in native mode's cache tag).
KERNEL_ENV = ("MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "ATEN_CPU_CAPABILITY",
              "ONEDNN_MAX_CPU_ISA", "GLIBC_TUNABLES", "NPY_DISABLE_CPU_FEATURES")
#: MKL's branch constants (``mkl_cbwr_get``), by name.
MKL_BRANCHES = {0: "off", 1: "off", 2: "AUTO", 3: "COMPATIBLE", 4: "SSE2", 6: "SSSE3",
                7: "SSE4_1", 8: "SSE4_2", 9: "AVX", 10: "AVX2", 11: "AVX512_MIC",
                12: "AVX512", 13: "AVX512_MIC_E1", 14: "AVX512_E1"}

_pinned: str | None = None
#: Set once the "not guaranteed here" line was printed (child processes inherit it).
_WARNED_ENV = "CLIPRL_NUMERICS_NOTED"


def requested_mode() -> str:
    """The mode asked for by ``CLIPRL_NUMERICS`` (default ``"reference"``)."""
    return check_mode(os.environ.get(ENV_VAR, "reference"))


def check_mode(mode) -> str:
    if mode not in MODES:
        raise ValueError(f"{ENV_VAR} must be one of {', '.join(MODES)}, got {mode!r}")
    return mode


def pin(mode: str | None = None) -> str:
    """Put this process (and the processes it starts) on ``mode``'s numeric path; returns
    the mode. Call before torch computes anything (importing the package does).

    Raises ``ValueError`` for an unknown mode or a second, different mode in one process,
    and ``RuntimeError`` when reference numerics cannot take effect because torch has
    already chosen its kernels.
    """
    global _pinned
    mode = requested_mode() if mode is None else check_mode(mode)
    if _pinned is not None:
        if mode != _pinned:
            raise ValueError(f"this process already computes in {_pinned} numerics; the "
                             f"mode cannot change once torch has computed (start a new "
                             f"process with {ENV_VAR}={mode})")
        return mode
    if mode == "reference" and not x86_64():
        # The reference bits are defined on x86-64; elsewhere say so once and go native.
        if not os.environ.get(_WARNED_ENV):
            print(f"cliprl_helpers: this {platform.machine()} CPU computes in native numerics: "
                  "not guaranteed bit for bit here (the book's reference bits are x86-64's); "
                  "compared outputs use their stated tolerances", file=sys.stderr)
            os.environ[_WARNED_ENV] = "1"
        mode = "native"
    os.environ[ENV_VAR] = mode  # processes started from here compute the same way
    if mode == "reference":
        os.environ.update(REFERENCE_ENV)
    import torch  # lazy: torch must be imported after the pins are in the environment

    if mode == "reference":
        torch.backends.mkldnn.enabled = False
        problems = reference_problems()
        if problems:
            raise RuntimeError(
                "reference numerics could not be pinned: " + "; ".join(problems) + ". Torch "
                "chooses its kernels when it first computes and numpy when it is imported, so "
                "import cliprl_helpers before numpy, torch or pandas (or start Python with " +
                environment_line() + "), or set "
                f"{ENV_VAR}=native to compute with this machine's own kernels")
    _pinned = mode
    return mode


def x86_64() -> bool:
    """True on an x86-64 CPU, where the reference bits are defined."""
    return platform.machine().lower() in ("x86_64", "amd64")


def numpy_dispatch() -> list[str]:
    """numpy's SIMD dispatch targets above its baseline that are in use in this process
    (``["X86_V3"]`` on an AVX2 or AVX-512 CPU in reference numerics; ``[]`` on an older one,
    or where the dispatch was switched off)."""
    # lazy: numpy must be imported after the pins are in the environment
    from numpy._core import _multiarray_umath as umath

    return [t for t in umath.__cpu_dispatch__ if umath.__cpu_features__.get(t)]


def numpy_too_wide() -> list[str]:
    """The dispatch targets in use that reference numerics switches off (``[]``: none)."""
    off = set(NUMPY_DISPATCH_OFF.split(","))
    return [t for t in numpy_dispatch() if t in off]


def environment_line() -> str:
    """The reference pins as ``NAME=value`` words, for starting a process by hand (a Dask
    worker on your own cluster): ``env $(python -m cliprl_helpers.repro.reference --env) ...``."""
    return " ".join(f"{k}={v}" for k, v in REFERENCE_ENV.items())


def child_environment(mode: str | None = None, **extra: str) -> dict[str, str]:
    """An environment for a new process that computes in ``mode`` (default: whatever it
    chooses itself, i.e. ``CLIPRL_NUMERICS`` unset): this process's environment without the
    pins and kernel-selecting variables it may carry, plus ``extra``. For measuring or testing
    one mode from a process pinned to another."""
    env = {k: v for k, v in os.environ.items()
           if k not in REFERENCE_ENV and k not in KERNEL_ENV and k != ENV_VAR}
    if mode is not None:
        env[ENV_VAR] = check_mode(mode)
    env.update(extra)
    return env


def mode() -> str:
    """The mode this process computes in (pinning the requested one if nothing did yet)."""
    return _pinned if _pinned is not None else pin()


def reference_problems() -> list[str]:
    """What differs from the reference path in this process (``[]``: nothing)."""
    import torch  # lazy: torch must be imported after the pins are in the environment

    problems = []
    cap = aten_capability()
    if cap != "DEFAULT":
        problems.append(f"torch's CPU capability is {cap}, not DEFAULT")
    branch = mkl_branch()
    if branch not in (None, "COMPATIBLE"):
        problems.append(f"MKL's reproducibility branch is {branch}, not COMPATIBLE")
    if torch.backends.mkldnn.enabled:
        problems.append("oneDNN is enabled")
    wide = numpy_too_wide()
    if wide:
        problems.append(f"numpy was imported with its {' '.join(wide)} loops, not capped at "
                        f"AVX2")
    return problems


def aten_capability() -> str:
    """The CPU capability torch's kernels run at (``DEFAULT``, ``AVX2``, ``AVX512``, ...)."""
    import torch  # lazy: torch must be imported after the pins are in the environment

    return str(torch.backends.cpu.get_cpu_capability())


@lru_cache(maxsize=1)
def _libtorch():
    import torch  # lazy: torch must be imported after the pins are in the environment

    path = Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"
    try:
        return ctypes.CDLL(str(path))
    except OSError:
        return None


def mkl_branch() -> str | None:
    """MKL's current code branch for reproducibility (``"COMPATIBLE"``, ``"AUTO"``,
    ``"off"``, ...), or None where torch has no MKL (ARM, macOS)."""
    lib = _libtorch()
    fn = getattr(lib, "mkl_serv_cbwr_get", None) if lib is not None else None
    if fn is None:
        return None
    fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
    value = fn(1)  # MKL_CBWR_BRANCH
    return MKL_BRANCHES.get(value, str(value))


def guaranteed() -> bool:
    """True where this process's numbers are the book's reference bits: reference mode on
    an x86-64-v3 CPU (AVX2 and FMA: without them numpy runs other loops and glibc's
    ``log``/``exp`` another variant). Elsewhere results may differ from the reference ones,
    and compared outputs use their tolerances."""
    return mode() == "reference" and x86_64() and all(f in cpu()["isa"]
                                                        for f in GUARANTEE_ISA)


@lru_cache(maxsize=1)
def cpu() -> dict:
    """The CPU: ``{"model", "vendor", "isa"}`` (isa: the vector extensions it has)."""
    info = {"model": platform.processor() or platform.machine(), "vendor": "", "isa": []}
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    fields = {}
    for line in text.splitlines():
        if ":" in line:
            k, v = (s.strip() for s in line.split(":", 1))
            fields.setdefault(k, v)
    flags = set(fields.get("flags", fields.get("Features", "")).split())
    isa = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "amx_tile", "asimd", "sve"]
    info.update(model=fields.get("model name", info["model"]),
                vendor=fields.get("vendor_id", fields.get("CPU implementer", "")),
                isa=[f for f in isa if f in flags])
    return info


def kernel_path() -> dict:
    """Everything that selects this process's kernels: the mode, torch's capability, MKL's
    branch, the kernel-selecting environment variables and the CPU."""
    return {"mode": mode(), "aten_capability": aten_capability(), "mkl_branch": mkl_branch(),
            "numpy_dispatch": numpy_dispatch(),
            "env": {k: os.environ[k] for k in KERNEL_ENV if k in os.environ},
            "machine": platform.machine(), "cpu": cpu()}


def cache_tag() -> str:
    """Part of every cache key (:func:`cliprl_helpers.core.artifacts.cache_key`): results made on
    one numeric path are never read back on another. ``reference-<version>`` in reference
    mode on x86-64 (the same on every such CPU); in native mode, or off x86-64, a hash of
    :func:`kernel_path` (so a cache shared by different machines keeps their numbers
    apart)."""
    if guaranteed():
        return f"reference-{REFERENCE_VERSION}"
    blob = json.dumps(kernel_path(), sort_keys=True).encode()
    return f"{mode()}-{hashlib.sha256(blob).hexdigest()[:12]}"


def trainer_tag() -> str:
    """The part of a cache key of *trained policies* (:mod:`cliprl_helpers.core.training`,
    :mod:`cliprl_helpers.core.base_policies`): the DQN trainer uses no CPU-dependent kernel (its
    output layer and Adam are exact compiled loops, everything else elementwise IEEE
    arithmetic and index operations), so on x86-64 it computes the same bits in either mode and
    on every kernel path (``tests/test_numerics.py`` checks it) and its results are shared
    between them. Elsewhere (untested) they stay apart, under :func:`cache_tag`."""
    if x86_64():
        return "exact-trainer-1"
    return cache_tag()


def describe() -> str:
    """One line for pages and logs: how this process computes."""
    c = cpu()
    where = f"{c['model']} ({platform.machine()})"
    if guaranteed():
        return (f"reference numerics (MKL COMPATIBLE branch, torch kernels at DEFAULT "
                f"capability, oneDNN off, numpy capped at AVX2, 1 thread) on {where}: the "
                f"same bits on every x86-64-v3 CPU")
    return (f"{mode()} numerics (torch capability {aten_capability()}, MKL branch "
            f"{mkl_branch()}) on {where}: numbers may differ on other machines")
