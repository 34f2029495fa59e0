"""reference.check: bit-exact where the reference numerics hold, within tolerance elsewhere."""

import numpy as np
import pandas as pd
import pytest

from cliprl_helpers.core import numerics
from cliprl_helpers.repro import reference


@pytest.fixture
def store(tmp_path, monkeypatch):
    path = tmp_path / "results" / "checks.json"
    monkeypatch.setattr(reference, "checks_file", lambda: path)
    return path


TOL = {"cosine": reference.Close(1e-5),
       "steps": reference.Steps(2, by=("method",), resolution=0),
       "ratio": reference.Factor(2), "negative": reference.Agree(0.5),
       "accuracy": reference.Agree(0.5)}


def table(**changes) -> pd.DataFrame:
    t = pd.DataFrame({"trial": [0, 0, 1, 1], "method": ["a", "b", "a", "b"],
                      "cosine": [0.5, 0.25, 0.125, 0.0625], "steps": [100, 200, 300, 400],
                      "ratio": [1.0, 2.0, 0.5, 1.5], "negative": [True, False, True, False],
                      "accuracy": [np.nan, 1.0, np.nan, 0.5]})
    for col, values in changes.items():
        t[col] = values
    return t


def record(monkeypatch, t, params):
    monkeypatch.setenv(reference.RECORD_ENV, "1")
    out = reference.check("demo", t, params=params, tolerance=TOL)
    monkeypatch.delenv(reference.RECORD_ENV)
    return out


@pytest.mark.skipif(not numerics.guaranteed(), reason="records need reference numerics on x86-64")
def test_exact_where_the_bits_are_guaranteed(store, monkeypatch):
    assert str(record(monkeypatch, table(), {"n": 1})) == "demo: matches the published reference"
    assert store.is_file()
    assert reference.check("demo", table(), params={"n": 1}, tolerance=TOL).ok
    # one float one ulp away: the guaranteed path refuses it and names the column and row
    nudged = np.nextafter(0.25, 1.0)
    out = reference.check("demo", table(cosine=[0.5, nudged, 0.125, 0.0625]), params={"n": 1},
                          tolerance=TOL)
    assert not out.ok and out.exact
    assert "1 row(s) of column 'cosine' differ, first row 1" in out.verdict
    # other parameters have no reference, and say so
    out = reference.check("demo", table(), params={"n": 2}, tolerance=TOL)
    assert out.verdict.startswith("no published reference for these parameters")


@pytest.mark.skipif(not numerics.guaranteed(), reason="records need reference numerics on x86-64")
def test_within_tolerance_where_they_are_not(store, monkeypatch):
    record(monkeypatch, table(), {"n": 1})
    monkeypatch.setattr(numerics, "guaranteed", lambda: False)

    def verdict(**changes):
        return reference.check("demo", table(**changes), params={"n": 1}, tolerance=TOL)

    assert verdict(cosine=[0.5, 0.25 + 1e-6, 0.125, 0.0625]).ok
    assert "column 'cosine': max |difference| 0.001 > 1e-05" in \
        verdict(cosine=[0.5, 0.251, 0.125, 0.0625]).verdict
    # steps: geometric mean per method within a factor 2 (method a: sqrt(150*450/(100*300)))
    assert verdict(steps=[150, 200, 450, 400]).ok
    assert "geometric mean of a is 3.00x" in verdict(steps=[300, 200, 900, 400]).verdict
    assert "off by more than a factor 2" in verdict(ratio=[1.0, 2.0, 0.5, 4.0]).verdict
    assert verdict(negative=[True, True, True, False]).ok  # 3 of 4 agree
    assert verdict(accuracy=[np.nan, 1.0, np.nan, 0.25]).ok  # missing equals missing
    assert "equal in 25% of rows" in verdict(accuracy=[0.5, 1.0, 0.5, 0.25]).verdict
    assert "equal in 25% of rows < 50%" in verdict(negative=[False, True, True, True]).verdict
    # keys never bend
    assert "column 'method'" in verdict(method=["a", "b", "b", "a"]).verdict
    assert "shape" in reference.check("demo", table().iloc[:3], params={"n": 1},
                                      tolerance=TOL).verdict


def test_recording_needs_the_reference_path(store, monkeypatch):
    monkeypatch.setattr(numerics, "guaranteed", lambda: False)
    monkeypatch.setenv(reference.RECORD_ENV, "1")
    with pytest.raises(RuntimeError, match="recorded in reference numerics on x86-64 only"):
        reference.check("demo", table(), params={}, tolerance=TOL)
    assert not store.exists()


def test_bad_checks_are_refused(store):
    with pytest.raises(ValueError,
                       match=r"float columns \['cosine', 'ratio', 'accuracy'\] need a tolerance"):
        reference.check("demo", table(), params={}, tolerance={"steps": reference.Agree(1)})
    with pytest.raises(ValueError, match=r"tolerance names columns \['nope'\] not in the table"):
        reference.check("demo", table(), params={}, tolerance={**TOL, "nope": reference.Close(1)})
    with pytest.raises(ValueError, match="non-empty pandas DataFrame"):
        reference.check("demo", table().iloc[:0], params={}, tolerance=TOL)
    store.parent.mkdir(parents=True)
    store.write_text("{not json")
    with pytest.raises(ValueError, match="is damaged"):
        reference.check("demo", table(), params={}, tolerance=TOL)


def test_the_published_references_are_whole():
    """Every recorded reference reads back as a table with its parameters."""
    import io
    import json

    data = json.loads(reference.checks_file().read_text())
    assert data, "results/checks.json holds no reference"
    for name, entries in data.items():
        for key, entry in entries.items():
            assert json.loads(key) == json.loads(json.dumps(entry["params"], default=str))
            assert len(pd.read_csv(io.StringIO(entry["csv"]))) > 0, name
