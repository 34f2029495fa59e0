"""Chapter 9's robustness study: its design, its labels and its specification curve."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cliprl_helpers.analysis import spec_curve
from cliprl_helpers.core.config import PARAMETERS
from cliprl_helpers.repro.registry import notebook_defaults

ROOT = Path(__file__).resolve().parents[1]


def test_the_defaults_are_chapter_5s_parameters_and_every_choice_is_a_parameter():
    ch5 = notebook_defaults(ROOT / "notebooks" / "05_clip_transfer.ipynb")
    assert spec_curve.defaults() == {k: ch5[k] for k in spec_curve.CHOICES}
    assert set(spec_curve.CHOICES) <= set(PARAMETERS)
    for name, values in spec_curve.CHOICES.items():
        assert spec_curve.defaults()[name] not in values, f"{name}: the default is a spec"


def _summary(ratios: dict, sizes=(8, 10, 15), trials=6, seed=0, alg1=None) -> pd.DataFrame:
    """A fake study: per spec (a weighting), Algorithm 2's steps = ratio x Algorithm 1's,
    with noise; ``ratios`` maps weighting -> ratio (a function of grid size allowed);
    ``alg1`` maps weighting -> Algorithm 1's steps relative to scratch (default 0.5)."""
    rng = np.random.default_rng(seed)
    rows = []
    for weighting, ratio in ratios.items():
        for n in sizes:
            r = ratio(n) if callable(ratio) else ratio
            for t in range(trials):
                scratch = 10000 * n
                base = scratch * (alg1 or {}).get(weighting, 0.5)
                noise = np.exp(rng.normal(0, 0.05))
                for method, steps in (("scratch", scratch), ("algorithm1", base),
                                      ("algorithm2", base * r * noise)):
                    rows.append({"grid_size": n, "target_reading": "as_printed", "trial": t,
                                 "method": method, "steps_to_converge": int(steps),
                                 "censored": False, "resolution": 128,
                                 "param_weighting": weighting, "param_align_bias": True})
    return pd.DataFrame(rows)


def test_labels_name_the_one_changed_choice_and_refuse_two():
    t = _summary({"paper": 1.0, "top1": 0.4}, sizes=(8,), trials=2)
    labelled = spec_curve.label_specs(t)
    assert set(labelled.spec) == {"book's defaults", "weighting = top1"}
    t.loc[t.param_weighting == "top1", "param_align_bias"] = False
    with pytest.raises(ValueError, match="varies 2 choices at once"):
        spec_curve.label_specs(t)


def test_the_curve_applies_chapter_6s_claim_tests_to_each_specification():
    t = _summary({"paper": 1.0, "top1": 0.4, "softmax": lambda n: 8.0 / n})
    curve = spec_curve.spec_curve(t, resolution=128)
    by = curve.set_index("spec")
    assert list(curve.spec) == ["weighting = top1", "weighting = softmax", "book's defaults"]
    assert by.loc["weighting = top1", "claim 1"] == "holds"
    assert by.loc["book's defaults", "claim 1"] == "contradicted"
    assert by.loc["book's defaults", "geo-mean ratio"] == pytest.approx(1.0, abs=0.05)
    assert by.loc["weighting = softmax", "claim 2"] == "holds"  # falls with size
    assert by.loc["weighting = top1", "claim 2"] != "holds"     # flat
    counts = spec_curve.claim_counts(curve).set_index("claim")
    assert counts.loc["claim 1", "holds"] == 1 and counts.loc["claim 1", "specifications"] == 3
    text = spec_curve.findings_text(curve)
    assert "Best: weighting = top1" in text and "worst: book's defaults" in text
    assert "Claim 1 (about 50% fewer steps) holds under 1: weighting = top1" in text


def test_the_design_table_lists_every_alternative():
    design = spec_curve.choices_table()
    assert len(design) == len(spec_curve.CHOICES)
    row = design.set_index("parameter").loc["align_bias"]
    assert (row["book's default"], row["alternatives"]) == ("yes", "no")
    json.dumps(spec_curve.CHOICES)  # plain values: they travel on the sweep's command line


def test_findings_say_which_method_carried_each_change_of_the_ratio():
    # top1 makes Algorithm 2 faster (Algorithm 1 as at the defaults); softmax makes
    # Algorithm 1 slower (Algorithm 2's own steps unchanged); positive barely moves anything
    t = _summary({"paper": 1.0, "top1": 0.4, "softmax": 0.25, "positive": 0.95},
                 alg1={"softmax": 2.0})
    curve = spec_curve.spec_curve(t, resolution=128)
    moved = spec_curve.moved_by(curve).set_index("spec")
    assert moved.loc["weighting = top1", "via"] == "Algorithm 2"
    assert moved.loc["weighting = softmax", "via"] == "Algorithm 1"
    assert "weighting = positive" not in moved.index
    assert "through Algorithm 1: weighting = softmax" in spec_curve.findings_text(curve)


def test_native_kernels_join_the_curve_as_their_own_specification():
    study = _summary({"paper": 1.0, "top1": 0.4})
    native = _summary({"paper": 0.9}, seed=1).drop(columns=["param_weighting",
                                                            "param_align_bias"])
    both = spec_curve.with_native(study, native)
    curve = spec_curve.spec_curve(both, resolution=128)
    assert set(curve.spec) == {"book's defaults", "weighting = top1", "native kernels"}
    assert curve.set_index("spec").loc["native kernels", "choice"] == spec_curve.NUMERICS
    with pytest.raises(ValueError, match="no runs of the book's defaults"):
        spec_curve.with_native(study[study.param_weighting == "top1"], native)


def test_the_compact_table_has_one_row_per_specification_with_deciding_bounds():
    curve = spec_curve.spec_curve(_summary({"paper": 1.0, "top1": 0.4, "positive": 0.95}),
                                  resolution=128)
    table = spec_curve.compact_table(curve)
    assert list(table.specification) == ["book's defaults", "weighting = top1",
                                         "weighting = positive"]
    top1 = table.set_index("specification").loc["weighting = top1"]
    ratio, claim1, claim2 = top1["as printed"].split("\n")
    assert claim1.startswith("claim 1 holds: Algorithm 2 is 60% faster (hi ")
    assert claim2.startswith("claim 2 ")
    assert top1["change carried by"].startswith("as printed: Alg 2 (x0.4")
    assert table.set_index("specification").loc["weighting = positive", "change carried by"] \
        == "no change beyond x1.25"
    text = spec_curve.short_findings(curve, "a test study")
    assert text.count(". ") + 1 <= 3 and text.endswith(".")
    assert "Over the 3 specifications of a test study: as printed, claim 1 holds under 1, " \
           "is contradicted under 2, and claim 2" in text
    assert "weighting = top1 (as printed, ratio x0.4" in text
