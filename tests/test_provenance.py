"""Provenance: what this process records about how it computes."""

from cliprl_helpers.core import numerics
from cliprl_helpers.repro import provenance


def test_provenance_says_how_numbers_are_made():
    p = provenance.provenance()
    assert p["numerics"] == "reference" and p["threads"] == 1
    assert p["trainer_version"] >= 4 and p["torch"].startswith("2.13.0")
    assert p["kernel_path"]["aten_capability"] == "DEFAULT"
    assert p["cache_tag"] == ("reference-2" if numerics.guaranteed() else p["cache_tag"])
    assert "X86_V4" not in p["kernel_path"]["numpy_dispatch"]
    assert "reference numerics" in p["description"]
    assert p["git_commit"] is None or len(p["git_commit"].split("-")[0]) == 40
