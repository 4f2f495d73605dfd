"""Reading printed tables back in tests: cells of :class:`mmemo.display.FitTable` output."""

from __future__ import annotations

import re

_GAP = re.compile(r"\s{2,}")


def table_cells(output: str) -> list[list[str]]:
    """Cells of every table line in ``output`` (columns are separated by two or more spaces;
    a cell never holds two spaces in a row). Rules and blank lines are left out."""
    rows = []
    for line in output.splitlines():
        text = line.strip()
        if not text or set(text) <= {"─", " "}:
            continue
        rows.append(_GAP.split(text))
    return rows


def row_of(output: str, first: str) -> list[str]:
    """The cells of the table line whose first cell is ``first``."""
    for cells in table_cells(output):
        if cells[0] == first:
            return cells
    raise AssertionError(f"no row '{first}' in:\n{output}")
