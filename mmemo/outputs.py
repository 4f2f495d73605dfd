"""Files the commands write with ``--out``: in the format asked for, whole or not at all.

1. :func:`output_format` decides the format before a command does any work: ``--format``
   when given, else the extension of ``--out`` (:data:`EXTENSIONS`), else the command's
   default (the terminal's ``table``). An extension that names no format the command writes,
   or another format than ``--format``, is refused with one line: ``mmemo export run --out
   f.csv`` once wrote Parquet into ``f.csv`` and ``report --format latex --out t.docx`` LaTeX
   into a ``.docx``, both with exit status 0.
2. :func:`atomic_path` writes under a temporary name in the same folder and renames it into
   place (:func:`os.replace`, atomic on one file system): a command that fails or is
   interrupted leaves the file that was there, or none, never half a file under the name
   asked for.
3. :func:`wrote` says what was written in one form: ``wrote N rows to PATH`` (a figure:
   ``wrote PATH``), for scripts to grep.

:func:`write_result` and :func:`result_text` serialise an Arrow result (``mmemo sql``,
``mmemo predict``) as csv, json, markdown or parquet; :func:`result_table` lays it out for the
terminal.

Layer 7, the renderer with :mod:`mmemo.display` and beside :mod:`mmemo.reports`: the store
and the jobs return data; only the reports and the CLI turn it into text or files.
"""

from __future__ import annotations

import io
import json
import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from mmemo.display import FitTable, display_rows
from mmemo.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

#: The format each ``--out`` extension means (compared in lower case).
EXTENSIONS: dict[str, str] = {
    ".csv": "csv",
    ".json": "json",
    ".md": "markdown",
    ".tex": "latex",
    ".parquet": "parquet",
    ".png": "png",
    ".pdf": "pdf",
    ".svg": "svg",
}
#: The terminal's format: what a command prints without ``--out``.
TABLE = "table"
#: Formats with no text form: they need ``--out``.
FILE_ONLY = frozenset({"parquet", "png", "pdf", "svg"})
#: What figures are written as.
FIGURE_FORMATS: tuple[str, ...] = ("png", "pdf", "svg")
#: What an Arrow result (``mmemo sql``, ``mmemo predict``) is printed or written as.
RESULT_FORMATS: tuple[str, ...] = ("table", "csv", "json", "markdown", "parquet")
#: A result printed as a table shows at most this many rows (files get all of them).
MAX_TABLE_ROWS = 1000


def _extension(fmt: str) -> str:
    return next(ext for ext, name in EXTENSIONS.items() if name == fmt)


def _one_of(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def output_format(
    out: Path | None,
    fmt: str | None,
    formats: Sequence[str],
    *,
    default: str = TABLE,
    option: str | None = "--out",
) -> str:
    """The format a command prints or writes: ``fmt`` (``--format``) when given, else the one
    ``out``'s extension names, else ``default``. Call it before any work.

    Args:
        out: The file asked for (``--out``), or ``None`` to print.
        fmt: The format asked for (``--format``), or ``None``.
        formats: The formats the command knows (``table`` is the terminal's).
        default: The format without ``--format`` and ``--out``.
        option: The option that named ``out``, for messages (``None``: the path alone).

    Raises:
        InputError: an unknown format; an extension that names none of ``formats``, or
            another one than ``fmt``; ``out`` a folder; a file-only format (parquet, a figure)
            without ``out``.
    """
    if fmt is not None and fmt not in formats:
        raise InputError(f"unknown format '{fmt}'; expected one of {', '.join(formats)}")
    if out is None:
        chosen = fmt or default
        if chosen in FILE_ONLY:
            raise InputError(f"--format {chosen} needs --out FILE")
        return chosen
    named = f"{option} {out}" if option else str(out)
    if Path(out).is_dir():
        raise InputError(f"{named}: is a folder; give a file name")
    suffix = Path(out).suffix.lower()
    by_extension = EXTENSIONS.get(suffix)
    if by_extension is None or by_extension not in formats:
        expected = [_extension(f) for f in formats if f in EXTENSIONS.values()]
        raise InputError(
            f"{named}: unknown extension {suffix or '(none)'!r}; expected {_one_of(expected)}"
        )
    if fmt is not None and fmt != by_extension:
        raise InputError(
            f"{named}: a {suffix} file holds {by_extension}, not --format {fmt}; "
            f"change the extension or leave out --format"
        )
    return by_extension


@contextmanager
def atomic_path(out: Path) -> Iterator[Path]:
    """A temporary path beside ``out`` (same extension: writers that read it still see the
    format) to write to; renamed onto ``out`` when the block ends, removed if it raises.

    The name is new and not created here, so the file gets the permissions the writer's
    umask gives, as ``out`` would have."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(f".{out.name}.{os.getpid()}-{secrets.token_hex(4)}.part{out.suffix}")
    try:
        yield temp
        os.replace(temp, out)
    finally:
        temp.unlink(missing_ok=True)


def write_text(out: Path, text: str) -> None:
    """Write ``text`` (ending in a newline) to ``out`` atomically."""
    with atomic_path(out) as temp:
        temp.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def wrote(out: Path, rows: int | None = None, detail: str | None = None) -> str:
    """The one message for a file written: ``wrote N rows to PATH`` (``wrote PATH`` for a
    figure), with ``detail`` in parentheses after it."""
    said = (
        f"wrote {out}" if rows is None else f"wrote {rows} row{'' if rows == 1 else 's'} to {out}"
    )
    return f"{said} ({detail})" if detail else said


# -- Arrow results -----------------------------------------------------------------------------


def result_text(table: pa.Table, fmt: str) -> str:
    """``table`` as ``csv`` (lists and structs as JSON text), ``json`` (a list of objects) or
    ``markdown`` (numbers rounded for reading, as in the terminal's table)."""
    if fmt == "csv":
        import pyarrow.csv as pacsv

        buffer = io.BytesIO()
        pacsv.write_csv(_plain(table), buffer)
        return buffer.getvalue().decode("utf-8")
    if fmt == "json":
        return json.dumps(table.to_pylist(), indent=2, default=str)
    if fmt == "markdown":
        columns = table.column_names
        cells = display_rows([[row[c] for c in columns] for row in table.to_pylist()])
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
        return "\n".join(lines)
    raise InputError(f"unknown format '{fmt}'; expected one of csv, json, markdown")


def write_result(table: pa.Table, fmt: str, out: Path) -> str:
    """Write ``table`` to ``out`` as ``fmt`` (parquet, or a :func:`result_text` format)
    atomically; return the :func:`wrote` message."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        with atomic_path(out) as temp:
            pq.write_table(table, temp)
    else:
        write_text(out, result_text(table, fmt))
    return wrote(out, table.num_rows)


def result_table(table: pa.Table) -> FitTable:
    """``table`` for the terminal: its first :data:`MAX_TABLE_ROWS` rows, counted below."""
    columns = table.column_names
    rows = [[row[c] for c in columns] for row in table.slice(0, MAX_TABLE_ROWS).to_pylist()]
    n = table.num_rows
    caption = (
        f"{n} rows, first {MAX_TABLE_ROWS} shown (use --format csv/parquet for all)"
        if n > MAX_TABLE_ROWS
        else f"{n} row(s)"
    )
    return FitTable(columns, rows, caption=caption)


def _plain(table: pa.Table) -> pa.Table:
    """CSV cannot hold lists or structs: write those columns as JSON text."""
    import pyarrow as pa

    columns = []
    for column in table.columns:
        if pa.types.is_nested(column.type):
            column = pa.array([json.dumps(v, default=str) for v in column.to_pylist()])
        columns.append(column)
    return pa.table(columns, names=table.column_names)
