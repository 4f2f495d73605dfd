"""``mmemo sql``: run a user's query on the store and return the result (an Arrow table)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from mmemo.errors import InputError
from mmemo.store.damage import damaged_part
from mmemo.store.guard import checked_statements, read_only_message
from mmemo.store.store import Store

EMPTY_QUERY = "empty query: give a SQL statement or -f FILE"


def run_query(
    store: Store,
    query: str,
    *,
    write: bool = False,
    origin: str | None = None,
    readable: Sequence[Path] = (),
) -> pa.Table | None:
    """Run ``query`` (one or more statements) on ``store``; return the last result, if any.

    Without ``write`` the query may read the store and nothing else (see
    :mod:`mmemo.store.guard`): no statement that writes a file, changes the store or maintains
    the lake runs, and DuckDB opens no file but the lake's and those in ``readable``. The
    store's views and tables of the connection (``clips``, ``predictions`` ...) count as the
    store's too: dropping, altering or replacing one is refused the same way, although it
    would last only until the store is opened again. Temporary objects the query makes itself
    are the user's scratch and allowed. With ``write``, no statement may name a file inside
    the store's folder.

    Args:
        origin: where the query comes from (a file name), named in error messages.
        readable: files or folders a read-only query may read (``mmemo sql --read``).

    Raises:
        InputError: an empty query (no statement, only comments), a SQL error, or a change
            attempted without ``write``.
    """
    where = f"{origin}: " if origin else ""
    readable = [_readable(p) for p in readable]
    with store.session(write=write, user_sql=True, readable=readable) as s:
        s.ensure_views()
        try:
            statements = checked_statements(s.con, query, write=write, protected=store.own_paths())
            before = None if write or _selects_only(s.con, query) else _session_objects(s.con)
            relation = None
            seen = False
            try:
                for statement in statements:
                    seen = True
                    relation = s.con.sql(statement)
                if not seen:
                    raise InputError(f"{where}{EMPTY_QUERY}")
                result = None if relation is None else relation.to_arrow_table()
            finally:
                if before is not None:
                    _check_unchanged(s.con, before)
            return result
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            if damaged_part(message, store.lake_data_path()) is not None:
                raise  # the session names the damaged file
            if not write and "read-only" in message:
                raise InputError(read_only_message(message)) from None
            if not write and "disabled by configuration" in message:
                raise InputError(
                    f"{where}a read-only query opens no file but the store's ({message}); "
                    "name the files it reads with --read PATH, or pass --write"
                ) from None
            raise InputError(f"{where}SQL error: {message}") from None


def _readable(path: Path) -> str:
    """A ``--read`` path as DuckDB's allow-lists take it: absolute, folders ending in ``/``."""
    resolved = Path(path).expanduser().resolve()
    if not resolved.exists():
        raise InputError(f"--read {path}: no such file or folder")
    return f"{resolved}/" if resolved.is_dir() else str(resolved)


def _selects_only(con: duckdb.DuckDBPyConnection, query: str) -> bool:
    """Whether every statement of ``query`` is a SELECT, which can drop or replace no view,
    table or macro: the comparison of the connection's objects before and after (about 0.1 s)
    is then spared. ``EXPLAIN ANALYZE`` runs its statement, so EXPLAIN is not among them."""
    try:
        return all(st.type.name == "SELECT" for st in con.extract_statements(query))
    except duckdb.Error:  # checked_statements reports it
        return False


def _session_objects(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """The connection's temporary views, tables and macros, by (kind, name), with their SQL."""
    rows = con.execute(
        "SELECT 'view', view_name, sql FROM duckdb_views() WHERE temporary "
        "UNION ALL SELECT 'table', table_name, sql FROM duckdb_tables() WHERE temporary "
        "UNION ALL SELECT 'macro', function_name, coalesce(macro_definition, '') "
        "FROM duckdb_functions() WHERE database_name = 'temp' "
        "AND function_type IN ('macro', 'table_macro')"
    ).fetchall()
    return {(kind, name): str(text) for kind, name, text in rows}


def _check_unchanged(con: duckdb.DuckDBPyConnection, before: dict[tuple[str, str], str]) -> None:
    """Refuse a read-only query that dropped, altered or replaced one of the store's views,
    tables or macros of the connection (``before``: those that existed before it ran)."""
    after = _session_objects(con)
    for (kind, name), text in sorted(before.items()):
        if (kind, name) not in after:
            raise InputError(read_only_message(f"it removes the {kind} {name}"))
        if after[(kind, name)] != text:
            raise InputError(read_only_message(f"it replaces the {kind} {name}"))
