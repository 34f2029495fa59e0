"""Write the book's answer into README.md: ``make book`` runs this after building.

The README is not rebuilt with the book, yet it should say what the book found without a
number typed by hand. This tool computes the same sentences as the book's first page
(:func:`cliprl_helpers.analysis.sentences.headline` of
:func:`cliprl_helpers.analysis.claims.verdict`, and for ``published`` the size ladder's
claim-2 sentence, chapter 10's) from the
published headline sweep (``published``: ``results/headline.csv``) or a sweep's
``summary.csv`` (with ``provenance.json`` beside it: how the numbers were computed) and writes
them between the README's two result markers; everything else in the README is left as it is.

    python tools/readme_results.py published README.md
    python tools/readme_results.py runs/summary.csv README.md
"""

from __future__ import annotations

import sys
from pathlib import Path

START = "<!-- results: written by make book (tools/readme_results.py); do not edit by hand -->"
END = "<!-- end of results -->"


def block(source: Path) -> str:
    """The headline sentences computed from the published headline sweep (``published``) or
    a sweep's summary table."""
    from cliprl_helpers.analysis import claims, ratios, sentences
    from cliprl_helpers.repro import published

    table, where, _ = published.chapter_table("headline", str(source), "", [])
    verdicts = claims.verdict(table, ratios.resolution_of(table))
    return sentences.headline(verdicts, where) + (growth() if str(source) == "published"
                                                  else "")


def growth() -> str:
    """Claim 2 on the published size ladder (chapter 10's sentence)."""
    from cliprl_helpers.analysis import ladder, ratios, sentences
    from cliprl_helpers.repro import published

    table = published.load("ladder")
    verdicts, _ = ladder.growth_verdicts(table, ratios.resolution_of(table))
    said = sentences.growth_text(verdicts, table.trial.nunique(), table.grid_size.unique(),
                                 ladder.PRIMARY_MIN_SIZE)
    return f"\n\n{said} (Chapter 10, from the published results/ladder.csv.)"


def replace(text: str, new: str) -> str:
    """``text`` with what lies between the markers replaced by ``new``."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"README must hold the line {START!r} and, after it, {END!r}, once "
                         f"each")
    head, rest = text.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n\n{new.strip()}\n\n{END}{tail}"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python tools/readme_results.py published|SUMMARY.csv README.md",
              file=sys.stderr)
        return 2
    summary, readme = Path(argv[0]), Path(argv[1])
    if str(summary) != "published" and not summary.is_file():
        print(f"{summary} not found: README.md left as it is (make sweep writes it)")
        return 0
    text = readme.read_text()
    updated = replace(text, block(summary))
    if updated != text:
        tmp = readme.with_suffix(".tmp")
        tmp.write_text(updated)
        tmp.replace(readme)
        print(f"README.md: results updated from {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
