"""Reference numerics give the same bits on every x86-64 CPU; without them the CPU shows.

One machine cannot be every CPU, but it can run the code paths of lesser ones: MKL's
``MKL_ENABLE_INSTRUCTIONS``, oneDNN's ``ONEDNN_MAX_CPU_ISA``, torch's ``ATEN_CPU_CAPABILITY``
and glibc's ``GLIBC_TUNABLES`` (which hides AVX2 and FMA from the maths library) select the
paths an AVX2-only, an AVX-only or an SSE4 machine would take. Each process computes the
four fingerprints of :mod:`cliprl_helpers.repro.reference` (sentence embeddings, an alignment,
a small experiment with every method, the trainer's base policies) from an empty cache.
"""

import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cliprl_helpers.core import artifacts, numerics
from cliprl_helpers.repro import reference, threads

ROOT = Path(__file__).resolve().parents[1]
X86 = platform.machine().lower() in ("x86_64", "amd64")


def kernel_paths() -> dict[str, dict[str, str]]:
    """The kernel paths this machine can run: its own and the lower ones it can emulate."""
    isa = set(numerics.cpu()["isa"])
    paths = {"native": {}}
    if "avx512f" in isa:
        paths["AVX2 CPU"] = {"MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2",
                             "ATEN_CPU_CAPABILITY": "avx2",
                             "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F"}
    # An AVX-only CPU takes the same paths as the SSE4 one below in reference numerics (torch
    # at its baseline either way, MKL's COMPATIBLE branch, oneDNN off, no FMA in the maths
    # library), so the lowest path stands for both.
    if "avx" in isa:
        paths["SSE4 CPU"] = {"MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "ONEDNN_MAX_CPU_ISA": "SSE41",
                             "ATEN_CPU_CAPABILITY": "default",
                             "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX512F,-AVX2,-FMA,-AVX"}
    return paths


def fingerprints(mode: str, extra: dict[str, str]) -> dict:
    """The fingerprints computed in a fresh process in numerics ``mode`` with ``extra``
    environment variables (the pins the package sets are not inherited from this process)."""
    env = numerics.child_environment(mode, HF_HUB_OFFLINE="1", **extra)
    done = subprocess.run([sys.executable, "-m", "cliprl_helpers.repro.reference", "--json"],
                          env=env, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def assert_identical(results: dict[str, dict]) -> None:
    """Every kernel path gave the same fingerprints."""
    first_name, first = next(iter(results.items()))
    for name, got in results.items():
        for k in ("embeddings", "alignment", "steps", "trainer"):
            assert got["fingerprints"][k] == first["fingerprints"][k], \
                f"{k} differ between the {first_name} path and the {name} path"


@pytest.mark.skipif(not X86, reason="the reference bits are guaranteed on x86-64 only")
def test_reference_numerics_give_the_published_bits_on_every_kernel_path():
    results = {name: fingerprints("reference", extra) for name, extra in kernel_paths().items()}
    for got in results.values():
        assert got["kernel_path"]["aten_capability"] == "DEFAULT"
        assert got["kernel_path"]["mkl_branch"] == "COMPATIBLE"
    assert_identical(results)
    assert results["native"]["fingerprints"] == reference.PUBLISHED


@pytest.mark.skipif(not X86 or "SSE4 CPU" not in kernel_paths(),
                    reason="needs an x86-64 CPU with a lower kernel path to emulate")
def test_without_the_pins_the_kernel_path_changes_the_numbers():
    """The check of the test above: the same comparison fails in native mode."""
    results = {name: fingerprints("native", kernel_paths()[name])
               for name in ("native", "SSE4 CPU")}
    assert results["SSE4 CPU"]["kernel_path"]["aten_capability"] == "DEFAULT"
    with pytest.raises(AssertionError, match="differ between the native path"):
        assert_identical(results)
    # ... except the trainer, which uses no CPU-dependent kernel: the reference bits in any mode
    for got in results.values():
        assert got["fingerprints"]["trainer"] == reference.PUBLISHED["trainer"]


def test_this_process_computes_on_the_reference_path():
    assert numerics.mode() == "reference"
    assert numerics.reference_problems() == []
    for k, v in numerics.REFERENCE_ENV.items():
        assert os.environ[k] == v  # and every process started from here inherits it
    import torch

    assert not torch.backends.mkldnn.enabled
    assert torch.get_num_threads() == 1
    assert numerics.guaranteed() == X86


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=numerics.child_environment(**env),
                          capture_output=True, text=True, cwd=ROOT)


def test_pinning_after_torch_computed_or_numpy_was_imported_is_refused_with_what_to_do():
    done = run_python("import torch; torch.ones(3) + 1; import cliprl_helpers")
    assert done.returncode != 0
    assert "RuntimeError: reference numerics could not be pinned" in done.stderr
    assert "import cliprl_helpers before numpy, torch or pandas" in done.stderr
    assert "CLIPRL_NUMERICS=native" in done.stderr
    # numpy imported first picks its widest loops (torch and pandas import it)
    for first in ("numpy", "torch", "pandas") if "avx512f" in numerics.cpu()["isa"] else ():
        done = run_python(f"import {first}; import cliprl_helpers")
        assert done.returncode != 0, first
        if "avx512f" in numerics.cpu()["isa"]:  # numpy has loops above AVX2 here
            assert "numpy was imported with its X86_V4" in done.stderr, first
        assert "NPY_DISABLE_CPU_FEATURES=X86_V4,AVX512_ICL,AVX512_SPR" in done.stderr
    # ... which the pins in the environment prevent (as make exports them): then importing
    # torch first is fine, since nothing has computed yet
    ok = run_python("import torch; import cliprl_helpers; "
                    "from cliprl_helpers.core import numerics; "
                    "print(numerics.mode(), numerics.aten_capability(), "
                    "numerics.numpy_dispatch())", **numerics.REFERENCE_ENV)
    assert ok.returncode == 0, ok.stderr
    mode, cap, dispatch = ok.stdout.split(maxsplit=2)
    assert (mode, cap) == ("reference", "DEFAULT") and "X86_V4" not in dispatch


def test_this_process_runs_numpy_capped_at_avx2():
    assert numerics.numpy_too_wide() == []
    assert os.environ["NPY_DISABLE_CPU_FEATURES"] == numerics.NUMPY_DISPATCH_OFF
    if {"avx2", "fma"} <= set(numerics.cpu()["isa"]):
        assert numerics.kernel_path()["numpy_dispatch"] == ["X86_V3"]


def test_the_pins_as_words_for_a_process_started_by_hand():
    done = subprocess.run([sys.executable, "-m", "cliprl_helpers.repro.reference", "--env"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    words = dict(w.split("=", 1) for w in done.stdout.split())
    assert words == numerics.REFERENCE_ENV
    # the line works as given: numpy started with it is capped at AVX2
    probe = run_python("import numpy; from numpy._core import _multiarray_umath as u; "
                       "print([t for t in u.__cpu_dispatch__ if u.__cpu_features__[t]])",
                       **words)
    assert "X86_V4" not in probe.stdout and "AVX512" not in probe.stdout, probe.stdout


PROBE_CELL = ("import numpy, json\n"  # numpy first, as a chapter importing pandas would
              "from numpy._core import _multiarray_umath as u\n"
              "print(json.dumps([t for t in u.__cpu_dispatch__ if u.__cpu_features__[t] and "
              "t not in ('X86_V3',)]))\n"
              "import cliprl_helpers\n"
              "from cliprl_helpers.core import numerics\n"
              "print(json.dumps(numerics.reference_problems()))")


def test_the_pins_hold_in_notebook_kernels_and_papermill_runs(tmp_path):
    import nbformat
    import papermill

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE_CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, tmp_path / "in.ipynb")
    out = papermill.execute_notebook(str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"),
                                     kernel_name="python3", progress_bar=False)
    text = "".join(o.get("text", "") for o in out.cells[0].outputs)
    dispatch, problems = (json.loads(line) for line in text.split("\n") if line)
    assert dispatch == [] and problems == []


def _worker_numerics():
    from numpy._core import _multiarray_umath as u

    wide = [t for t in u.__cpu_dispatch__ if u.__cpu_features__[t] and t != "X86_V3"]
    from cliprl_helpers.core import numerics

    return wide, numerics.mode(), numerics.reference_problems()


def test_the_pins_hold_in_dask_workers():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        wide, mode, problems = client.submit(_worker_numerics, pure=False).result(timeout=120)
    assert (wide, mode, problems) == ([], "reference", [])


def test_off_x86_64_the_package_computes_natively_and_says_so_once():
    code = ("import platform; platform.machine = lambda: 'arm64'\n"
            "import cliprl_helpers, json\n"
            "from cliprl_helpers.core import numerics\n"
            "from cliprl_helpers.repro import reference\n"
            "import io, pandas as pd\n"
            # a published reference, its floats moved in the 12th digit: within tolerance
            "name, refs = next((n, r) for n, r in reference._load().items() if any("
            "pd.api.types.is_float_dtype(pd.read_csv(io.StringIO(e['csv']))[c]) "
            "for e in r.values() for c in pd.read_csv(io.StringIO(e['csv']))))\n"
            "entry = next(iter(refs.values()))\n"
            "t = pd.read_csv(io.StringIO(entry['csv']))\n"
            "fl = [c for c in t.columns if pd.api.types.is_float_dtype(t[c])]\n"
            "t[fl] = t[fl] * (1 + 1e-12)\n"
            "c = reference.check(name, t, params=entry['params'], "
            "tolerance={k: reference.Close(1e-6) for k in fl})\n"
            "assert c.ok, str(c)\n"
            "print(json.dumps([numerics.mode(), numerics.guaranteed(), "
            "numerics.cache_tag().split('-')[0], numerics.trainer_tag().split('-')[0], "
            "c.exact]))")
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ["native", False, "native", "native", False]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "not guaranteed bit for bit here" in lines[0], lines
    assert "arm64" in lines[0]


def test_bad_numerics_mode_and_thread_count_are_refused():
    done = run_python("import cliprl_helpers", CLIPRL_NUMERICS="fast")
    assert "ValueError: CLIPRL_NUMERICS must be one of reference, native, got 'fast'" \
        in done.stderr
    done = run_python("import cliprl_helpers", CLIPRL_TORCH_THREADS="2")
    assert "reference numerics compute on 1 thread, got 2" in done.stderr
    assert "CLIPRL_NUMERICS=native" in done.stderr
    with pytest.raises(ValueError, match="already computes in reference numerics"):
        numerics.pin("native")
    with pytest.raises(ValueError, match="reference numerics compute on 1 thread"):
        threads.pin_threads(2)


def test_native_mode_keeps_the_machine_kernels_and_other_cache_keys():
    code = ("import os, json, cliprl_helpers, torch; from cliprl_helpers.core import "
            "numerics, artifacts; print(json.dumps([numerics.aten_capability(), "
            "numerics.cache_tag(), "
            "artifacts.cache_key({'a': 1}), os.environ.get('MKL_CBWR'), "
            "torch.backends.mkldnn.enabled]))")
    done = run_python(code, CLIPRL_NUMERICS="native")
    assert done.returncode == 0, done.stderr
    cap, tag, key, cbwr, mkldnn = json.loads(done.stdout)
    assert tag.startswith("native-") and cbwr is None and mkldnn
    if X86 and "avx2" in numerics.cpu()["isa"]:
        assert cap != "DEFAULT"
    # a result cached in native mode is never read back in reference mode, and vice versa
    assert key != artifacts.cache_key({"a": 1})
    # another native kernel path is another key too
    other = run_python(code, CLIPRL_NUMERICS="native", ATEN_CPU_CAPABILITY="default")
    assert json.loads(other.stdout)[2] not in (key, artifacts.cache_key({"a": 1}))



def test_makefile_exports_the_same_pins():
    text = (ROOT / "Makefile").read_text()
    for k, v in numerics.REFERENCE_ENV.items():
        assert re.search(rf"^\s*export {k} := {re.escape(v)}$", text, re.M), k
    assert re.search(r"^export CLIPRL_NUMERICS$", text, re.M)


def test_trained_policies_are_shared_between_numerics_and_nothing_else_is():
    """The trainer's bits do not depend on the kernels (see above), so trained policies are
    cached under a key both modes share; embeddings, alignments and tables are not."""
    code = ("import json, cliprl_helpers; from cliprl_helpers.core import numerics, artifacts; "
            "print(json.dumps([artifacts.cache_key({'a': 1}, numerics.trainer_tag()), "
            "artifacts.cache_key({'a': 1})]))")
    native = json.loads(run_python(code, CLIPRL_NUMERICS="native").stdout)
    here = [artifacts.cache_key({"a": 1}, numerics.trainer_tag()), artifacts.cache_key({"a": 1})]
    if X86:
        assert native[0] == here[0]
    assert native[1] != here[1]


def test_a_worker_in_other_numerics_refuses_a_run_and_a_run_of_other_numerics_is_redone(
        tmp_path):
    from cliprl_helpers.repro import runs

    nb = ROOT / "notebooks" / "05_clip_transfer.ipynb"
    run = runs.Run(chapter="05", notebook=nb, dir=tmp_path / "grid-8",
                   params={"grid_size": 8}, numerics="native")
    with pytest.raises(RuntimeError, match="this worker computes in reference numerics but the "
                                           "sweep asked for native; start the workers with "
                                           "CLIPRL_NUMERICS=native"):
        runs.execute(run, ROOT)
    assert not run.dir.exists()  # refused before anything was written
    # a finished run recorded under native numerics is not reused by a reference sweep
    run.dir.mkdir(parents=True)
    for f in run.files():
        f.write_text("grid_size,trial,method,steps_to_converge,censored\n8,0,scratch,1,False\n")
    marker = {"params": run.params, "rows": 1, "code": "",
              "numerics": {"numerics": "native", "cache_tag": "native-abc"},
              "files": {f.name: runs._sha256(f) for f in run.files()}}
    (run.dir / runs.MARKER).write_text(json.dumps(marker))
    assert runs.check_finished(run) == ""
    ref = runs.Run(chapter="05", notebook=nb, dir=run.dir, params=run.params)
    assert runs.check_finished(ref) == "it was computed in native numerics, reference asked for"
