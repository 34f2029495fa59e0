"""cliprl_helpers.repro.registry: one home for the paper's grid sizes, the chapters and the
published results, whose recipes are what results/ records."""

import json
from pathlib import Path

import pytest

from cliprl_helpers.repro import registry, sweep

ROOT = Path(__file__).resolve().parents[1]


def test_robustness_args_ask_for_one_at_a_time_with_every_alternative():
    args = registry.robustness_args("out", 3, [8, 10], jobs=2, choices=["align_bias", "weighting"])
    assert args[:9] == ["--out", "out", "--trials", "3", "--grid-sizes", "8", "10",
                        "--one-at-a-time", "--no-figures"]
    assert args[9:] == ["--jobs", "2", "-p", "align_bias", "false", "-p", "weighting",
                        "softmax", "positive", "top1"]
    with pytest.raises(ValueError, match=r"unknown choice\(s\) \['epsilon'\]"):
        registry.robustness_args("out", 3, choices=["epsilon"])




def test_the_recipes_are_the_ones_results_records():
    """A recipe that changed would make every result stale: the committed manifest's
    recorded recipe is what each result's args() give today."""
    manifest = json.loads((registry.RESULTS_DIR / "manifest.json").read_text())["results"]
    for name, result in registry.RESULTS.items():
        assert manifest[name]["state"]["recipe"] == result.args(), name
    assert registry.RESULTS["headline"].args()[3:7] == [str(n) for n in registry.PAPER_SIZES]


def test_the_chapters_and_their_stored_parameters():
    assert all((ROOT / nb).is_file() for nb in registry.CHAPTERS.values())
    assert sweep.build_parser().parse_args([]).grid_sizes == list(registry.PAPER_SIZES)
    d = registry.notebook_defaults(ROOT / registry.CHAPTERS["07"])
    assert d["grid_size"] == registry.SIZE_RANGE["07"][0] and d["source"] == "published"


def test_an_unknown_result_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown published result 'nope': allowed are headline"):
        registry.result("nope")


def test_the_ladders_recipe_is_the_plans():
    # book/size_ladder_plan.md: six sizes, five methods, the budget rule, 10 trials (the
    # pilot's count), one trial per run so that both workers share the large sizes
    args = registry.LADDER.args()
    assert args == ["--trials", "10", "--grid-sizes", "8", "10", "15", "25", "35", "50",
                    "--no-figures", "--trials-per-run", "1", "-p", "budget_growth", "cells",
                    "-p", "methods",
                    "[scratch, algorithm1, algorithm2, algorithm2_shuffled, oracle]"]
    runs = sweep.plan(sweep.build_parser().parse_args([*args, "--out", "/nonexistent/x"]),
                      registry.ROOT)
    assert len(runs) == 6 * 10 and {r.params["budget_growth"] for r in runs} == {"cells"}
    assert {r.expected_rows for r in runs} == {2 * 1 * 5}  # readings x trials x methods
    assert registry.RESULTS["ladder"] is registry.LADDER
