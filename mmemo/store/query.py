"""``mmemo sql``: run a user's query on the store and format the result."""

from __future__ import annotations

import io
import json
from pathlib import Path

import duckdb
import pyarrow as pa

from mmemo.errors import InputError
from mmemo.store.store import Store

FORMATS = ("table", "csv", "json", "markdown", "parquet")
MAX_TABLE_ROWS = 1000


def run_query(store: Store, query: str, *, write: bool = False) -> pa.Table | None:
    """Run ``query`` (one or more statements) on ``store``; return the last result, if any.

    Without ``write`` the registry and the lake are attached read-only, so a statement that
    would change the store fails and nothing changes.

    Raises:
        InputError: a SQL error, or a change attempted without ``write``.
    """
    with store.session(write=write, user_sql=True) as s:
        s.ensure_views()
        try:
            relation = s.con.sql(query)
            return None if relation is None else relation.to_arrow_table()
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            if not write and "read-only" in message:
                raise InputError(
                    f"the store is opened read-only and this query changes it ({message}); "
                    "pass --write to allow changes"
                ) from None
            raise InputError(f"SQL error: {message}") from None


def format_result(table: pa.Table, fmt: str, out: Path | None):
    """Render ``table`` as ``fmt``: a rich table, or text; parquet is written to ``out``."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format '{fmt}'; expected one of {', '.join(FORMATS)}")
    if fmt == "parquet":
        import pyarrow.parquet as pq

        if out is None:
            raise InputError("--format parquet needs --out FILE")
        pq.write_table(table, out)
        return f"{table.num_rows} row(s) written"
    if fmt == "csv":
        import pyarrow.csv as pacsv

        buffer = io.BytesIO()
        pacsv.write_csv(_plain(table), buffer)
        return buffer.getvalue().decode("utf-8")
    rows = table.to_pylist()
    if fmt == "json":
        return json.dumps(rows, indent=2, default=str)
    columns = table.column_names
    if fmt == "markdown":
        lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(_cell(r[c]) for c in columns) + " |" for r in rows]
        return "\n".join(lines)
    from rich.table import Table

    rich_table = Table(*columns, caption=_caption(table.num_rows))
    for row in rows[:MAX_TABLE_ROWS]:
        rich_table.add_row(*(_cell(row[c]) for c in columns))
    return rich_table


def _caption(n: int) -> str:
    if n > MAX_TABLE_ROWS:
        return f"{n} rows, first {MAX_TABLE_ROWS} shown (use --format csv/parquet for all)"
    return f"{n} row(s)"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list) and len(value) > 8:
        return "[" + ", ".join(_cell(v) for v in value[:8]) + f", … ({len(value)})]"
    return str(value)


def _plain(table: pa.Table) -> pa.Table:
    """CSV cannot hold lists or structs: write those columns as JSON text."""
    columns = []
    for column in table.columns:
        if pa.types.is_nested(column.type):
            column = pa.array([json.dumps(v, default=str) for v in column.to_pylist()])
        columns.append(column)
    return pa.table(columns, names=table.column_names)
