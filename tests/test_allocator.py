"""The allocator setting: big temporaries stop costing page faults under Dask's malloc env."""

import os
import subprocess
import sys

import pytest

from cliprl_helpers.repro import allocator

# Allocate and free an 8 MB tensor (a 25x25 population's Q table) 200 times; print the minor
# page faults that cost. With MALLOC_TRIM_THRESHOLD_ set, as Dask's nanny sets it for its
# workers, glibc maps each one afresh unless keep_on_heap() fixed the thresholds.
# (numpy allocates through the same malloc as torch and starts faster; the module is loaded
# from its file so that the package's own import-time fix does not run in the "plain" probe)
PROBE = """
import importlib.util, resource, sys
import numpy as np
if sys.argv[1] == "fix":
    spec = importlib.util.spec_from_file_location("allocator", sys.argv[2])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.keep_on_heap()
for _ in range(5):
    np.empty(2_000_000, np.float32).fill(1.0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):
    np.empty(2_000_000, np.float32).fill(1.0)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "65536"}
    out = subprocess.run([sys.executable, "-c", PROBE, mode, allocator.__file__], env=env,
                         check=True, capture_output=True, text=True)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_on_heap_stops_the_page_faults_of_big_temporaries():
    without, with_fix = _faults("plain"), _faults("fix")
    # 4 KB pages: up to 2,048 faults per 8 MB mapping (fewer where huge pages back some)
    if without < 2_000:
        pytest.skip(f"fresh mappings cost only {without} faults in 200 allocations here")
    assert with_fix * 20 < without


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_on_heap_reports_success_on_glibc():
    assert allocator.keep_on_heap() is True
