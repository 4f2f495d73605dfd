"""What a read of OpenFace CSVs must pass before it is data: finite AU values, a frame per file.

What parses is not yet good data. :func:`check_read` looks once at the table
:func:`mmemo.features.openface_csv.read_all` read, on its Arrow columns:

1. values DuckDB's reader rejected (not a number, a short row) make one problem per file;
2. an AU value that is not a finite number (``NaN`` and ``NA`` parse to null, ``inf`` and
   ``1e400`` to infinities: a model fed one fails much later, naming no file) makes its file
   bad, or with ``drop_nonfinite`` its frame is dropped and counted;
3. a file without a frame is bad: a set must not claim a clip it holds no frame of.

Steps 2 and 3 are whole-column ``pyarrow.compute`` kernels, ~10 ms for the 160,000 frames of
the full corpus; only when one finds something are the offending files re-read, to name the
line and the value as written.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mmemo.corpora.openface_columns import AU_COLUMNS
from mmemo.features.openface_header import header_names

__all__ = ["NO_FRAMES", "NO_FRAMES_LEFT", "Rejected", "check_read"]

#: A file with a header and no data row: a set must not claim a clip it holds no frame of.
NO_FRAMES = "no frames (a header and no data row)"
#: A file each of whose frames was dropped by ``--drop-nonfinite``.
NO_FRAMES_LEFT = "no frames left: every frame has a NaN/inf or missing AU value"

#: A value DuckDB's reader rejected: (file, line, column, message).
Rejected = tuple[str, int, str, str]


def check_read(
    table: pa.Table, headers: dict[str, str], rejected: list[Rejected], drop_nonfinite: bool
) -> tuple[pa.Table, dict[str, str], int]:
    """The frames of ``table`` that pass (all of them unless ``drop_nonfinite``), each bad
    file's one-line problem in the order of ``headers`` (file name -> its header line), and
    how many frames were dropped for a non-finite AU value."""
    bad = _rejected_by_file(rejected)
    table, nonfinite = _check_finite(table, headers, bad, drop_nonfinite)
    present = set(pc.unique(table["filename"]).to_pylist())
    for file in headers.keys() - present - bad.keys():
        bad[file] = NO_FRAMES_LEFT if file in nonfinite.files else NO_FRAMES
    in_order = {file: bad[file] for file in headers if file in bad} | bad
    return table, in_order, nonfinite.rows


def _rejected_by_file(rejected: list[Rejected]) -> dict[str, str]:
    """DuckDB's rejected values as one problem per file: the first, and how many more lines
    have one. (DuckDB rejects a short row once per missing column: a file cut off in its last
    row gave ~350 rejected values, which used to be counted as that many bad files.)"""
    first: dict[str, str] = {}
    lines: dict[str, set[int]] = {}
    for file, line, column, message in rejected:
        first.setdefault(file, f"line {line}, column {column}: {message}")
        lines.setdefault(file, set()).add(line)
    return {
        file: problem
        + (f" (and {len(lines[file]) - 1} more bad line(s))" if len(lines[file]) > 1 else "")
        for file, problem in first.items()
    }


@dataclass
class _Dropped:
    """Frames :func:`_check_finite` dropped: how many, and from which files."""

    rows: int = 0
    files: set[str] = field(default_factory=set)


def _check_finite(
    table: pa.Table, headers: dict[str, str], bad: dict[str, str], drop: bool
) -> tuple[pa.Table, _Dropped]:
    """``table`` without the frames that have an AU value that is not a finite number (null
    included: pyarrow reads ``NaN`` and ``NA`` as null), when ``drop``; otherwise ``table`` as
    it is, each file with such a frame added to ``bad`` (its first one: line, column, value).

    Each AU column is checked whole (one ``is_finite`` kernel, no row loop); only a column
    that fails is looked at row by row, vectorised too."""
    failing = [
        c for c in AU_COLUMNS if table[c].null_count or not pc.all(pc.is_finite(table[c])).as_py()
    ]
    if not failing:
        return table, _Dropped()
    not_finite = [pc.invert(pc.fill_null(pc.is_finite(table[c]), False)) for c in failing]
    mask = functools.reduce(pc.or_, not_finite)
    if drop:
        counted = mask  # not the frames of a file that goes whole (a value DuckDB rejected)
        if bad:
            counted = pc.and_(mask, pc.invert(pc.is_in(table["filename"], pa.array(list(bad)))))
        files = pc.unique(table["filename"].filter(mask)).to_pylist()
        dropped = _Dropped(pc.sum(counted).as_py(), set(files))
        return table.filter(pc.invert(mask)), dropped
    # each file's first bad row, as a row of that file (its rows are contiguous, in order)
    codes = table["filename"].combine_chunks().dictionary_encode()
    names = codes.dictionary.to_pylist()
    file_of = codes.indices.to_numpy()
    _, starts = np.unique(file_of, return_index=True)  # the codes are 0..n-1, all used
    rows = pc.indices_nonzero(mask.combine_chunks()).to_numpy()
    codes_bad, first = np.unique(file_of[rows], return_index=True)
    for code, row in zip(codes_bad.tolist(), rows[first].tolist(), strict=True):
        file = names[code]
        if file in bad:  # a value DuckDB rejected says more
            continue
        column = next(c for c, m in zip(failing, not_finite, strict=True) if m[row].as_py())
        bad[file] = _nonfinite_problem(file, headers[file], int(row - starts[code]), column)
    return table, _Dropped()


def _nonfinite_problem(file: str, header: str, row: int, column: str) -> str:
    """The problem of a file whose data row ``row`` (0-based) has a non-finite value in AU
    ``column``: its line and the value as written, read back from the file (error path only)."""
    line, cells = 0, []
    with open(file, encoding="utf-8", errors="replace", newline="") as fh:
        fh.readline()
        seen = -1
        for number, text in enumerate(fh, start=2):
            if text.strip("\r\n"):  # the parsers skip blank lines
                seen += 1
                if seen == row:
                    line, cells = number, header_names(text)
                    break
    position = header_names(header).index(column)
    value = cells[position] if position < len(cells) else ""
    shown = f"'{value}' is not a finite number" if value else "no value"
    where = f"line {line}, " if line else ""
    return f"{where}column {column}: {shown} (--drop-nonfinite drops such frames)"
