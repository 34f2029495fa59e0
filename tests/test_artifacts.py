"""Safetensors + JSON artifacts, atomic writes, the config-keyed cache."""

import json

import pytest
import torch

from cliprl_helpers.core import artifacts


def _tensors():
    return {"W": torch.arange(12, dtype=torch.float32).reshape(3, 4), "b": torch.ones(3)}


def test_roundtrip_keeps_tensors_and_metadata(tmp_path):
    artifacts.save(tmp_path, "a", _tensors(), {"seed": 3, "goal": [0, 7]})
    tensors, meta = artifacts.load(tmp_path, "a")
    torch.testing.assert_close(tensors["W"], _tensors()["W"])
    assert meta == {"seed": 3, "goal": [0, 7]}
    raw = json.loads((tmp_path / "a.json").read_text())
    assert raw["tensors"]["W"]["shape"] == [3, 4] and len(raw["sha256"]) == 64
    # no temp files are left behind, and nothing is pickled
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.safetensors"]


def test_truncated_weights_raise(tmp_path):
    artifacts.save(tmp_path, "a", _tensors(), {})
    p = tmp_path / "a.safetensors"
    p.write_bytes(p.read_bytes()[:-10])
    with pytest.raises(ValueError, match="do not match the SHA-256.*truncated or corrupt"):
        artifacts.load(tmp_path, "a")


def test_corrupt_metadata_raises(tmp_path):
    artifacts.save(tmp_path, "a", _tensors(), {})
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(ValueError, match="metadata .* is corrupt"):
        artifacts.load(tmp_path, "a")


def test_mismatched_pair_raises(tmp_path):
    artifacts.save(tmp_path, "a", _tensors(), {})
    artifacts.save(tmp_path, "b", {"W": torch.zeros(2)}, {})
    (tmp_path / "b.safetensors").replace(tmp_path / "a.safetensors")
    with pytest.raises(ValueError, match="SHA-256"):
        artifacts.load(tmp_path, "a")


def test_missing_half_raises(tmp_path):
    artifacts.save(tmp_path, "a", _tensors(), {})
    (tmp_path / "a.safetensors").unlink()
    with pytest.raises(ValueError, match="is missing"):
        artifacts.load(tmp_path, "a")


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(artifacts.os, "replace", boom)
    with pytest.raises(OSError):
        artifacts.save(tmp_path, "a", _tensors(), {})
    assert list(tmp_path.iterdir()) == []


def test_cache_key_is_order_free_and_sensitive():
    assert artifacts.cache_key({"a": 1, "b": 2}) == artifacts.cache_key({"b": 2, "a": 1})
    assert artifacts.cache_key({"a": 1}) != artifacts.cache_key({"a": 2})


def test_project_root_found_from_notebooks_dir():
    root = artifacts.project_root()
    assert artifacts.project_root(root / "notebooks") == root




def test_cached_table_computes_once_per_config(tmp_path):
    import pandas as pd

    calls = []

    def compute():
        calls.append(1)
        return pd.DataFrame({"a": [1, 2]})

    t1 = artifacts.cached_table({"k": 1}, compute, tmp_path)
    t2 = artifacts.cached_table({"k": 1}, compute, tmp_path)
    artifacts.cached_table({"k": 2}, compute, tmp_path)
    assert len(calls) == 2 and t1.equals(t2)


def test_cached_table_recomputes_a_damaged_csv(tmp_path):
    import pandas as pd

    calls = []

    def compute():
        calls.append(1)
        return pd.DataFrame({"a": range(10)})

    artifacts.cached_table({"k": 1}, compute, tmp_path)
    [csv] = tmp_path.glob("table-*.csv")
    lines = csv.read_text().splitlines(keepends=True)
    csv.write_text("".join(lines[:-3]))  # cut at a line: still parses, 3 rows short
    with pytest.warns(UserWarning, match="not usable"):
        t = artifacts.cached_table({"k": 1}, compute, tmp_path)
    assert len(calls) == 2 and len(t) == 10
    csv.write_text("")  # emptied
    with pytest.warns(UserWarning, match="not usable"):
        assert len(artifacts.cached_table({"k": 1}, compute, tmp_path)) == 10


def test_cached_table_refuses_a_compute_that_is_not_a_table(tmp_path):
    with pytest.raises(ValueError, match="must return a pandas DataFrame"):
        artifacts.cached_table({"k": 1}, lambda: [1, 2], tmp_path)
    assert list(tmp_path.iterdir()) == []
