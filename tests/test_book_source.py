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
    documented = set(re.findall(r"automodule:: cliprl_helpers\.(\w+\.\w+)",
                                (ROOT / "book" / "api.md").read_text()))
    modules = {f"{p.parent.name}.{p.stem}" for p in (ROOT / "cliprl_helpers").glob("*/*.py")
               if p.stem != "__init__"}
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
    assert "05_clip_transfer" in uses["cliprl_helpers.core.experiment.run_grid"]
    # a re-export counts for the object's home: chapter 1 calls tasks.distances
    assert "01_environment" in uses["cliprl_helpers.core.grid.distances"]
    assert "cliprl_helpers.core.tasks.distances" not in uses
    assert all(k.startswith("cliprl_helpers.") for k in uses)  # no numpy, torch, ...


# -- no result typed by hand ---------------------------------------------------------------
# A number beside a word that counts or compares results (trials, runs, ratio, steps, faster,
# ...) in the prose of book/*.md or a chapter's Markdown must be glued or computed. What the
# scan may still find is listed here, each with why it is not a result.
RESULT_WORDS = r"(trials?|runs?|ratios?|specifications?|seeds?|censored|steps|faster|" \
               r"slower|fewer|more|times)"
NUMBER = r"(?<![\w.$`{/-])(\d[\d,]*(?:\.\d+)?%?|\d+(?:\.\d+)?x)(?![\w`}])"
TYPED = re.compile(rf"{NUMBER}\s+(?:\w+\s+){{0,2}}?{RESULT_WORDS}\b|"
                   rf"\b{RESULT_WORDS}\s+(?:of\s+|is\s+|was\s+|=\s+)?{NUMBER}", re.I)
#: Names with a number that are not results: "Algorithm 2", "chapter 7", "trial 0", ...
NAMED = re.compile(r"\b(Algorithms?|[Cc]hapters?|[Cc]laims?|[Tt]rials?|ch\.|Figure|Section|"
                   r"[Gg]rid|sizes?|step|row|cell)\s+\d+(\s*(,|and|or|to|-)\s*\d+)*")
ALLOWED = {
    "50% fewer": "the paper's claim, quoted",
    "10 trials each": "the paper's design (Section 5)",
    "with 10 trials a percentile": "the paper's design, why a BCa bootstrap is used",
    "128 env steps": "the evaluation interval, a setting",
    "128 environment steps": "the evaluation interval, a setting",
    "0.3 over 20k steps": "the exploration schedule, a setting",
    "at 0 steps": "a definition (a run that starts converged)",
    "95% intervals over trials": "the confidence level",
    "(one grid size, 10 trials)": "chapter 5's stored parameter n_trials (checked below)",
    "first 10 trials": "make test's published slice, a test parameter "
                       "(tests/test_published_slice.py)",
    "9 or more": "the smallest Minigrid room chapter 7 allows",
    "5 GB or more": "an install size",
    "1.8x slower": "a measurement of the allocator, with its cause",
    "past 25x25, 10 trials": "the size ladder's design, fixed by its plan before the runs",
    "Values below 1 are faster": "how to read a ratio axis",
}
#: Sections that are measurement logs of this machine (run times), not results.
LOG_SECTIONS = {"how_to_run.md": "## Run times measured on a 2-core CPU"}


def _prose() -> list[tuple[str, str]]:
    out = []
    for page in sorted((ROOT / "book").glob("*.md")):
        text = page.read_text()
        if page.name in LOG_SECTIONS:
            start = text.index(LOG_SECTIONS[page.name])
            end = text.find("\n## ", start + 1)
            text = text[:start] + (text[end:] if end >= 0 else "")
        out.append((page.name, text))
    for nb in CHAPTERS:
        out += [(f"{nb.name} cell {i}", "".join(c["source"]))
                for i, c in enumerate(_cells(nb)) if c["cell_type"] == "markdown"]
    return out


def typed_results(text: str) -> list[str]:
    """The places in Markdown ``text`` where a result-like number is typed by hand (code,
    math, glue and code blocks are not prose); each as the line it stands in."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\$[^$]*\$", " ", text)
    found = []
    for line in text.splitlines():
        line = NAMED.sub("X", line)
        if TYPED.search(line) and not any(a in line for a in ALLOWED):
            found.append(line.strip())
    return found


def test_no_result_is_typed_by_hand_in_the_prose():
    found = [f"{where}: {line}" for where, text in _prose() for line in typed_results(text)]
    assert not found, "numbers about results typed by hand (glue or compute them):\n" + \
        "\n".join(found)
    # every allowance is still needed, and the stored parameter it names is still the one
    everything = "\n".join(text for _, text in _prose())
    assert all(a in everything for a in ALLOWED), [a for a in ALLOWED if a not in everything]
    params = "".join(_cells(ROOT / "notebooks" / "05_clip_transfer.ipynb")[1]["source"])
    assert re.search(r"^n_trials = 10\b", params, re.M)


def test_the_scan_finds_a_typed_result():
    assert typed_results("Algorithm 2 needed 45% more steps over 30 trials.")
    assert typed_results("the ratio was 1.45 in the end")
    assert not typed_results("Algorithm 2 and chapter 7 in trial 0; `n = 30 trials`; $30$")
    assert not typed_results("{glue}`headline_trials` trials")
