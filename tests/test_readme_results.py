"""tools/readme_results.py: the README's results are computed, and only they are rewritten."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("readme_results",
                                              ROOT / "tools" / "readme_results.py")
readme_results = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme_results)


def test_the_readme_holds_the_markers_once():
    text = (ROOT / "README.md").read_text()
    assert text.count(readme_results.START) == 1 and text.count(readme_results.END) == 1


def test_only_the_block_between_the_markers_changes():
    S, E = readme_results.START, readme_results.END
    text = f"# Title\n\nbefore\n\n{S}\n\nold numbers\n\n{E}\n\nafter\n"
    new = readme_results.replace(text, "**Target as printed:** 1.66")
    assert new == f"# Title\n\nbefore\n\n{S}\n\n**Target as printed:** 1.66\n\n{E}\n\nafter\n"
    assert readme_results.replace(new, "**Target as printed:** 1.66") == new  # idempotent
    with pytest.raises(ValueError, match="must hold the line"):
        readme_results.replace("no markers here", "x")


def test_the_block_is_the_books_headline_of_the_summary(tmp_path):
    import pandas as pd

    rows = [{"grid_size": n, "target_reading": "as_printed", "trial": t, "method": m,
             "steps_to_converge": s, "censored": False, "resolution": 128}
            for n in (8, 10, 15) for t in range(4)
            for m, s in (("algorithm1", 1000 + 10 * t), ("algorithm2", 2000 + 10 * t))]
    csv = tmp_path / "summary.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    text = readme_results.block(csv)
    assert "**Target as printed:** over 3 grid sizes x 4 trials, Algorithm 2 needed" in text
    assert "more training steps" in text and "summary.csv: grid sizes [8, 10, 15]" in text
    missing = readme_results.main([str(tmp_path / "none.csv"), str(tmp_path / "README.md")])
    assert missing == 0 and not (tmp_path / "README.md").exists()


def test_the_block_says_how_the_numbers_were_computed(tmp_path):
    import json

    import pandas as pd

    rows = [{"grid_size": 8, "target_reading": "as_printed", "trial": t, "method": m,
             "steps_to_converge": 1000 + 10 * t, "censored": False, "resolution": 128}
            for t in range(3) for m in ("algorithm1", "algorithm2")]
    csv = tmp_path / "summary.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    assert "how they were computed: not recorded (provenance.json missing)" \
        in readme_results.block(csv)
    (tmp_path / "provenance.json").write_text(json.dumps({
        "numerics": ["reference"], "guaranteed": True, "cpus": ["Some CPU"],
        "package_version": "0.1.0", "trainer_version": 4, "git_commit": "0123456789abcdef",
        "torch": "2.13.0+cpu"}))
    text = readme_results.block(csv)
    assert "how they were computed: reference numerics (the same bits on every x86-64-v3 CPU) on " \
           "Some CPU, package 0.1.0, trainer version 4, commit 0123456789ab, torch 2.13.0+cpu" \
        in text


def test_by_default_the_block_comes_from_the_published_headline_sweep():
    text = readme_results.block("published")
    assert "x 30 trials" in text and "(Computed from the published results/headline.csv" in text
    assert "deciding bound:" in text
    # claim 2 on the size ladder, by chapter 10's rule
    assert "Does the gain grow with the grid? On the size ladder (8x8 to 50x50" in text
    assert text.endswith("(Chapter 10, from the published results/ladder.csv.)")
