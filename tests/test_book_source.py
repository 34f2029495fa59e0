"""The book as software: exercises in every chapter, an API page for every module, launch
buttons that run, math served with the site, chapters that run without the build's extras."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def test_every_chapter_ends_with_exercises_and_folded_solutions():
    assert len(CHAPTERS) >= 8
    labels = []
    for nb in CHAPTERS:
        last = "".join(_cells(nb)[-1]["source"])
        assert last.startswith("## Exercises"), f"{nb.name}: last cell is not '## Exercises'"
        exercises = re.findall(r"```\{exercise\}\n:label: (\S+)\n", last)
        solutions = re.findall(r"```\{solution\} (\S+)\n:class: dropdown\n", last)
        assert 2 <= len(exercises) <= 3, f"{nb.name}: {len(exercises)} exercises"
        assert solutions == exercises, f"{nb.name}: every exercise needs a folded solution"
        labels += exercises
    assert len(labels) == len(set(labels)), "exercise labels must be unique in the book"


def test_the_api_page_documents_every_module():
    documented = set(re.findall(r"automodule:: cliprl_helpers\.(\w+)",
                                (ROOT / "book" / "api.md").read_text()))
    modules = {p.stem for p in (ROOT / "cliprl_helpers").glob("*.py") if p.stem != "__init__"}
    assert modules == documented, f"missing: {modules - documented}, stale: {documented - modules}"


def test_launch_buttons_open_an_environment_that_has_the_package():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    buttons = cfg["launch_buttons"]
    assert "colab_url" not in buttons, "Colab has neither cliprl_helpers nor the pinned stack"
    assert buttons["binderhub_url"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip[-1] == "-e .", "Binder must install cliprl_helpers from the checkout"
    assert cfg["repository"]["url"].startswith("https://")


def test_math_is_served_with_the_site():
    sphinx = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]
    assert "sphinx-mathjax-offline" in sphinx["extra_extensions"]
    assert "mathjax_path" not in sphinx.get("config", {}), "a CDN path would need the network"


def test_chapters_glue_through_the_package_so_they_run_without_myst_nb():
    for nb in CHAPTERS:
        code = "\n".join("".join(c["source"]) for c in _cells(nb) if c["cell_type"] == "code")
        assert "myst_nb" not in code, f"{nb.name} imports myst_nb (use report.glue)"
        assert not re.search(r"(?<![.\w])glue\(", code), f"{nb.name}: bare glue()"


def test_the_api_page_learns_which_chapters_call_each_function(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "book" / "_ext"))
    from chapter_uses import chapter_uses

    uses = chapter_uses(ROOT / "notebooks")
    assert "05_clip_transfer" in uses["cliprl_helpers.experiment.run_grid"]
    # a re-export counts for the object's home: chapter 1 calls tasks.distances
    assert "01_environment" in uses["cliprl_helpers.grid.distances"]
    assert "cliprl_helpers.tasks.distances" not in uses
    assert all(k.startswith("cliprl_helpers.") for k in uses)  # no numpy, torch, ...
