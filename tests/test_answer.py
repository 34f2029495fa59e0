"""The first page's answer: sentences, alt text and the paper-beside-the-book table, from
hand-built tables."""

import json

import pandas as pd
import pytest

from cliprl_helpers.analysis import answer, claims


def _verdicts():
    rows = []
    for reading, (gm, lo, hi) in {"as_printed": (1.45, 1.31, 1.61),
                                  "self_consistent": (0.88, 0.77, 0.99)}.items():
        c1 = claims.claim_reduction(lo, hi)
        rows.append({"reading": reading, "geo-mean ratio": gm, "95% CI": f"[{lo}, {hi}]",
                     "claim 1": c1.status, "claim 1 label": c1.label,
                     "claim 2": "not shown", "claim 2 bound": "hi at 25x25 1.39 >= 1",
                     "claim 2 effect": "the ratio falls from 1.97 at 8x8 to 1.14 at 25x25",
                     "claim 2 label": "not shown: the ratio falls ..."})
    return pd.DataFrame(rows)


def _compared():
    return pd.DataFrame({
        "comparison": ["algorithm2 / algorithm2_shuffled"] * 2 + ["algorithm2 / language_top1"],
        "target_reading": ["as_printed", "self_consistent", "as_printed"],
        "geo-mean ratio": [0.96, 1.18, 0.87], "lo": [0.86, 1.04, 0.80], "hi": [1.08, 1.35, 0.94]})


def _runs():
    """Two runs (8x8, trial 0 and 1) of Algorithm 1 and 2 with their weights."""
    rows = []
    for trial, (w1, w2, near2) in enumerate([([0.3, 0.7], [0.1, 0.9], 1.0),
                                             ([0.6, 0.4], [0.2, 0.8], 0.0)]):
        rows += [{"grid_size": 8, "target_reading": "as_printed", "trial": trial,
                  "method": "algorithm1", "weights": json.dumps(w1), "top_pick_nearest": 1.0,
                  "initial_fraction": 0.9},
                 {"grid_size": 8, "target_reading": "as_printed", "trial": trial,
                  "method": "algorithm2", "weights": json.dumps(w2),
                  "top_pick_nearest": near2, "initial_fraction": 0.5}]
    return pd.DataFrame(rows)


def test_three_sentences_with_the_direction_of_each_claim():
    text = answer.sentences(_verdicts(), _compared(), {"algorithm2_shuffled": "the control",
                                                       "language_top1": "top-1"}, _runs())
    assert text.count(". ") == 2 and text.endswith(".")
    assert "as printed, Algorithm 2 needed 45% more training steps than Algorithm 1 (1.45 " \
           "[1.31, 1.61]): claim 1 **contradicted**" in text
    assert "self-consistent, Algorithm 2 needed 12% fewer training steps" in text
    assert "as printed, the ratio falls from 1.97 at 8x8 to 1.14 at 25x25, so claim 2 is " \
           "**not shown** (hi at 25x25 1.39 >= 1)" in text
    # trial 0: both put their largest weight on base 1; trial 1: base 0 against base 1
    assert "over 2 runs, Algorithm 2's largest weight sits on the base that language ranks " \
           "first in 50% of them, and on the base nearest the target in 50% (language's " \
           "first choice: 100%)" in text
    assert "Algorithm 2 / the control is 0.96 [0.86, 1.08] as printed (no difference shown), " \
           "1.18 [1.04, 1.35] self-consistent (the control faster)" in text
    assert "Algorithm 2 / top-1 is 0.87 [0.80, 0.94] as printed (Algorithm 2 faster)" in text


def test_without_the_mechanism_tables_there_are_two_sentences():
    text = answer.sentences(_verdicts(), _compared().iloc[:0], {})
    assert text.count(". ") == 1 and "weights follow" not in text
    assert answer.top_picks(_runs()[_runs().method == "algorithm1"]) == {"runs": 0}


def test_the_claim_2_sentence_can_be_left_to_the_size_ladder():
    labels = {"algorithm2_shuffled": "the control", "language_top1": "top-1"}
    text = answer.sentences(_verdicts(), _compared(), labels, _runs(), growth=False)
    assert "claim 2" not in text and text.count(". ") == 1
    assert text == answer.sentences(_verdicts(), _compared(), labels, _runs()).replace(
        " The paper's second claim, that the gain grows with the grid: as printed, the ratio "
        "falls from 1.97 at 8x8 to 1.14 at 25x25, so claim 2 is **not shown** (hi at 25x25 "
        "1.39 >= 1); self-consistent, the ratio falls from 1.97 at 8x8 to 1.14 at 25x25, so "
        "claim 2 is **not shown** (hi at 25x25 1.39 >= 1).", "")


def test_alt_text_gives_every_number_of_the_figure():
    per_size = pd.DataFrame({"target_reading": ["as_printed"] * 2, "grid_size": [10, 8],
                             "geo-mean ratio": [1.61, 1.97], "lo": [1.26, 1.63],
                             "hi": [2.06, 2.38]})
    alt = answer.ratio_alt_text(per_size)
    assert alt.endswith("as printed: 8x8 1.97 [1.63, 2.38]; 10x10 1.61 [1.26, 2.06].")
    assert "lines at 0.5 (the paper's claim) and 1 (no difference)" in alt


def test_the_paper_beside_the_book():
    runs = _runs()
    runs["steps_to_converge"] = 100
    table = answer.paper_table(_verdicts().iloc[:1], runs)
    assert list(table.columns) == ["the paper", "paper's number", "as printed"]
    assert table["paper's number"].tolist() == ["ratio 0.5", "none", "none",
                                                "10 trials, 4 sizes"]
    assert table["as printed"][0].startswith("ratio 1.45 [1.31, 1.61]\ncontradicted: "
                                             "Algorithm 2 is 45% slower")
    assert table["as printed"][2] == ("cells optimal at the start: Algorithm 2 0.50, "
                                      "Algorithm 1 0.90 (mean over runs)")
    assert table["as printed"][3] == "2 trials per size, sizes 8"
    assert "(Section 1)" in table["the paper"][0]
    noted = answer.paper_table(_verdicts().iloc[:1], runs, growth_note="see the ladder")
    assert noted["as printed"][1] == "not shown: the ratio falls ...\nsee the ladder"
    assert noted.drop(index=1).equals(table.drop(index=1))


@pytest.mark.parametrize("reading, name", [("as_printed", "as printed"),
                                           ("self_consistent", "self-consistent"),
                                           ("family", "family")])
def test_reading_names(reading, name):
    assert answer._reading(reading) == name
