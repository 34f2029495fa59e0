"""Reference numerics give the same bits on every x86-64 CPU; without them the CPU shows.

One machine cannot be every CPU, but it can run the code paths of lesser ones: MKL's
``MKL_ENABLE_INSTRUCTIONS``, oneDNN's ``ONEDNN_MAX_CPU_ISA``, torch's ``ATEN_CPU_CAPABILITY``
and glibc's ``GLIBC_TUNABLES`` (which hides AVX2 and FMA from the maths library) select the
paths an AVX2-only, an AVX-only or an SSE4 machine would take. Each process computes the
four fingerprints of :mod:`cliprl_helpers.fingerprint` (sentence embeddings, an alignment,
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

from cliprl_helpers import artifacts, fingerprint, numerics, threads

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
    done = subprocess.run([sys.executable, "-m", "cliprl_helpers.fingerprint", "--json"],
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
    assert results["native"]["fingerprints"] == fingerprint.PUBLISHED


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
        assert got["fingerprints"]["trainer"] == fingerprint.PUBLISHED["trainer"]


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


def test_pinning_after_torch_computed_is_refused_with_what_to_do():
    done = run_python("import torch; torch.ones(3) + 1; import cliprl_helpers")
    assert done.returncode != 0
    assert "RuntimeError: reference numerics could not be pinned" in done.stderr
    assert "import cliprl_helpers before any torch computation" in done.stderr
    assert "CLIPRL_NUMERICS=native" in done.stderr
    # importing torch alone is fine: nothing has computed yet
    ok = run_python("import torch; import cliprl_helpers; from cliprl_helpers import numerics; "
                    "print(numerics.mode(), numerics.aten_capability())")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split() == ["reference", "DEFAULT"]


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
    code = ("import os, json, cliprl_helpers, torch; from cliprl_helpers import numerics, "
            "artifacts; print(json.dumps([numerics.aten_capability(), numerics.cache_tag(), "
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


def test_provenance_says_how_numbers_are_made():
    p = numerics.provenance()
    assert p["numerics"] == "reference" and p["threads"] == 1
    assert p["trainer_version"] >= 4 and p["torch"].startswith("2.13.0")
    assert p["kernel_path"]["aten_capability"] == "DEFAULT"
    assert p["cache_tag"] == ("reference-1" if X86 else p["cache_tag"])
    assert "reference numerics" in p["description"]


def test_makefile_exports_the_same_pins():
    text = (ROOT / "Makefile").read_text()
    for k, v in numerics.REFERENCE_ENV.items():
        assert re.search(rf"^\s*export {k} := {v}$", text, re.M), k
    assert re.search(r"^export CLIPRL_NUMERICS$", text, re.M)


def test_trained_policies_are_shared_between_numerics_and_nothing_else_is():
    """The trainer's bits do not depend on the kernels (see above), so trained policies are
    cached under a key both modes share; embeddings, alignments and tables are not."""
    code = ("import json, cliprl_helpers; from cliprl_helpers import numerics, artifacts; "
            "print(json.dumps([artifacts.cache_key({'a': 1}, numerics.trainer_tag()), "
            "artifacts.cache_key({'a': 1})]))")
    native = json.loads(run_python(code, CLIPRL_NUMERICS="native").stdout)
    here = [artifacts.cache_key({"a": 1}, numerics.trainer_tag()), artifacts.cache_key({"a": 1})]
    if X86:
        assert native[0] == here[0]
    assert native[1] != here[1]


def test_a_worker_in_other_numerics_refuses_a_run_and_a_run_of_other_numerics_is_redone(
        tmp_path):
    from cliprl_helpers import runs

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
