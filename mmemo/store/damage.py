"""Telling a damaged or missing store file from a busy store, and naming the file.

DuckDB says a file is held by another process with "Could not set lock on file ...: Conflicting
lock is held in ..."; that, and only that, is a busy store worth waiting for. (Reading any
message that contains "lock" as one made an overwritten registry look busy: DuckDB's checksum
error speaks of a "block".) A file whose bytes changed under DuckDB fails its checksum ("Corrupt
database file: computed checksum ... in block at location N", naming no file); a lake data file
that is gone or overwritten fails with its path. Each of these becomes one line that names the
file and points at ``mmemo doctor``: where DuckDB names no file, the store's own DuckDB files are
read back whole to find the one that does not read.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from mmemo.sqltext import qualified

#: DuckDB's words for a file held by another process.
_LOCKED = re.compile(r"Could not set lock on file|Conflicting lock is held")
#: DuckDB's words for a database file that does not read back as it was written.
_DAMAGED = re.compile(
    r"Corrupt database file|checksum|not a valid DuckDB database|"
    r"The file is not a valid|Could not read enough bytes|database file .* is too small",
    re.IGNORECASE,
)
#: DuckDB's words for a data file (parquet) that is gone or not parquet any more.
_FILE_PROBLEM = re.compile(
    r"No such file or directory|No files found|Invalid footer|No magic bytes|"
    r"too small to be a Parquet file|Could not read|not a Parquet file",
    re.IGNORECASE,
)
_QUOTED_PATH = re.compile(r'"([^"]+)"|\'([^\']+)\'')


def is_locked(message: str) -> bool:
    """Whether DuckDB's ``message`` says another process holds the file."""
    return _LOCKED.search(message) is not None


def damaged_part(message: str, data_path: str) -> str | None:
    """What DuckDB's ``message`` says is damaged or missing: ``"lake file PATH"`` for a file
    under ``data_path`` (the lake's data), ``""`` for a database file it does not name, None
    when the message is about something else (a user's own file, a SQL mistake)."""
    first = message.splitlines()[0] if message else ""
    if _DAMAGED.search(first) and not is_locked(first):
        return ""
    if _FILE_PROBLEM.search(first):
        for match in _QUOTED_PATH.finditer(first):
            path = match.group(1) or match.group(2)
            if path.startswith(data_path) or path.startswith(data_path.rstrip("/")):
                return f"lake file {path}"
    return None


def unreadable(path: Path) -> str | None:
    """Why the DuckDB file ``path`` does not read back whole (every table, every row), or
    None when it does. A file another process holds counts as readable: it is busy, not
    damaged."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        message = str(exc).splitlines()[0]
        return None if is_locked(message) else message
    try:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = "
            "current_database()"
        ).fetchall()
        for schema, table in tables:
            con.execute(f"SELECT * FROM {qualified(schema, table)}").to_arrow_table()
    except duckdb.Error as exc:
        return str(exc).splitlines()[0]
    finally:
        con.close()
    return None


def damage_message(root: Path, part: str, detail: str, candidates: list[Path]) -> str:
    """The one line for a damaged store: the part named by DuckDB (``part``) or, when it named
    none, the first of ``candidates`` (the store's DuckDB files) that does not read back."""
    if not part:
        part = next(
            (f"file {path}" for path in candidates if path.is_file() and unreadable(path)),
            "one of its files",
        )
    return (
        f"store {root}: {part} is damaged or missing ({detail}); restore it from a copy, "
        "or see `mmemo doctor` for every file of the store"
    )
