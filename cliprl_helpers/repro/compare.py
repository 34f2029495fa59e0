"""Row-by-row comparison of two versions of a results table, every cell as the text its CSV
holds, so "identical" means to the bit. Wall-clock columns are split off first: they measure
the machine and never reproduce."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import pandas as pd

#: Columns that measure the machine, not the method: published apart, never compared.
TIMING_COLUMNS = ("wall_s",)


#: Columns that identify a row (those a table has), before any ``param_*`` columns.
KEY_COLUMNS = ("setting", "target_reading", "target", "grid_size", "trial", "method")


def split_timing(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(data, timing): the columns that reproduce, and the wall-clock columns (row by row
    beside the data, to the millisecond)."""
    data = table.drop(columns=[c for c in TIMING_COLUMNS if c in table])
    timing = table[[c for c in TIMING_COLUMNS if c in table]]
    timing = timing.apply(lambda c: pd.to_numeric(c).round(3))
    return data, timing


def key_columns(table: pd.DataFrame) -> list[str]:
    """The columns that identify a row: the specification's ``param_*`` columns, then those
    of :data:`KEY_COLUMNS` the table has."""
    return [c for c in table.columns if c.startswith("param_")] + \
        [c for c in KEY_COLUMNS if c in table.columns]


def as_text(table: pd.DataFrame) -> pd.DataFrame:
    """Every cell as the text a CSV of ``table`` holds (a text table is left as it is)."""
    return pd.read_csv(io.StringIO(table.to_csv(index=False)), dtype=str,
                       keep_default_na=False)


def _sortable(column: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(column, errors="coerce")
    return numbers if numbers.notna().all() else column


def key_order(text: pd.DataFrame) -> list:
    """Index labels of a text table in key order (numbers as numbers; ties: every column)."""
    keys = key_columns(text)
    order = keys + [c for c in text.columns if c not in keys]
    return list(text.sort_values(order, kind="stable", key=_sortable).index)


def _canonical(table: pd.DataFrame) -> pd.DataFrame:
    """Every cell as the text the CSV holds, rows in key order."""
    text = as_text(table)
    return text.loc[key_order(text)].reset_index(drop=True)


@dataclass
class Comparison:
    """Published against recomputed rows of one result."""

    name: str
    rows: int
    identical: int
    differing: pd.DataFrame  # one row per differing cell: keys, column, published, recomputed
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.note and self.identical == self.rows

    def report(self) -> str:
        head = (f"{self.name}: {self.rows} rows compared, {self.identical} identical to the "
                f"bit")
        if self.note:
            head += f"; {self.note}"
        if self.differing.empty:
            return head
        lines = [head + f"; {self.rows - self.identical} rows differ:"]
        for col, g in self.differing.groupby("column", sort=True):
            size = _change_size(g)
            lines.append(f"  {col}: {g.row.nunique()} rows differ{size}")
        shown = self.differing.head(8).drop(columns="row")
        lines.append("  " + shown.to_string(index=False).replace("\n", "\n  "))
        if len(self.differing) > 8:
            lines.append(f"  ... and {len(self.differing) - 8} more differing cells")
        return "\n".join(lines)


def _change_size(g: pd.DataFrame) -> str:
    try:
        a = pd.to_numeric(g.published).to_numpy(float)
        b = pd.to_numeric(g.recomputed).to_numpy(float)
    except (ValueError, TypeError):
        return ""
    ok = (a > 0) & (b > 0)
    if ok.any():
        factor = math.exp(float(abs(pd.Series(b[ok] / a[ok]).map(math.log)).max()))
        if factor < 1.001:  # a factor would print as 1: give the relative change itself
            return f" (largest relative change {factor - 1:.3g})"
        return f" (largest change a factor {factor:.3g})"
    return f" (largest absolute change {float(abs(b - a).max()):.3g})"


def compare(name: str, published: pd.DataFrame, recomputed: pd.DataFrame) -> Comparison:
    """Row by row, every cell as the CSV text (so "identical" means to the bit).

    Columns the recomputed table adds (new measurements) are named in the note, and the
    rows are compared on the published columns: "identical" then says the old numbers did
    not move. Any other change of columns compares nothing."""
    pub, new = _canonical(published), _canonical(recomputed)
    added = [c for c in new.columns if c not in pub.columns]
    if [c for c in new.columns if c in pub.columns] != list(pub.columns):
        return Comparison(name, len(pub), 0, pd.DataFrame(
            columns=["row", "column", "published", "recomputed"]),
            note=f"the columns differ: published {list(pub.columns)}, recomputed "
                 f"{list(new.columns)}")
    notes = [f"columns added: {', '.join(added)} (the published columns compared)"] \
        if added else []
    if added:  # the same rows in the same order, on the columns both have
        new = _canonical(recomputed.drop(columns=added))
    if len(pub) != len(new):
        notes.append(f"row counts differ: published {len(pub)}, recomputed {len(new)}")
    note = "; ".join(notes)
    n = min(len(pub), len(new))
    keys = key_columns(pub)
    cells = []
    same_rows = 0
    for i in range(n):
        a, b = pub.iloc[i], new.iloc[i]
        diff = [c for c in pub.columns if a[c] != b[c]]
        if not diff:
            same_rows += 1
        for c in diff:
            cells.append({"row": i, **{k: a[k] for k in keys}, "column": c,
                          "published": a[c], "recomputed": b[c]})
    return Comparison(name, len(pub), same_rows,
                      pd.DataFrame(cells, columns=["row", *keys, "column", "published",
                                                   "recomputed"]), note)
