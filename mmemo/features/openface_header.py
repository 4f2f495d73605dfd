"""The columns of an OpenFace 2.0 CSV header: which are required, and what the readers call them.

Columns are named by position, not by header text: OpenFace writes names that differ only by
case (2-D landmarks ``x_0`` and 3-D landmarks ``X_0``), which SQL identifiers do not tell
apart (DuckDB would rename the second ``X_0_1``). So the readers of
:mod:`mmemo.features.openface_csv` get their own names (the required columns under theirs,
every other column ``_c{position}``) and ``--keep-all`` maps each header name, bound as a
value, to the column at its position. The checks of :mod:`mmemo.features.openface_checks`
read a bad line back with the same header parsing.
"""

from __future__ import annotations

import csv

from mmemo.corpora.openface_columns import AU_COLUMNS, FRAME_COLUMNS

__all__ = ["REQUIRED", "extra_columns", "header_names", "reader_names"]

#: The columns every file must have: frame bookkeeping and the 35 AU columns.
REQUIRED = FRAME_COLUMNS + AU_COLUMNS


def header_names(header: str) -> list[str]:
    """The column names of a CSV header line (or the cells of any line), parsed as CSV and
    stripped of spaces."""
    return [c.strip() for c in next(csv.reader([header], skipinitialspace=True), [])]


def reader_names(names: list[str]) -> list[str]:
    """Names the CSV reader gives the columns: a required column (first occurrence) keeps its
    name, every other column is ``_c{position}``, so that no two differ only by case."""
    seen: set[str] = set()
    out = []
    for i, name in enumerate(names):
        if name in REQUIRED and name not in seen:
            seen.add(name)
            out.append(name)
        else:
            out.append(f"_c{i}")
    return out


def extra_columns(names: list[str], columns: list[str]) -> list[tuple[str, str]]:
    """(header name, reader name) of the columns ``--keep-all`` keeps (all but the required
    ones and ``face_id``)."""
    return [
        (name, column)
        for name, column in zip(names, columns, strict=True)
        if column not in REQUIRED and name != "face_id"
    ]
