"""What SQL a user types may do: without ``--write`` read the store and nothing else; with it,
change the store, but write no file inside the store's folder behind the store's back.

A read-only query (``mmemo sql`` without ``--write``) meets three locks, each closing what the
others leave open:

1. **The statement's kind**, read by DuckDB's own parser before anything runs: COPY, EXPORT,
   ATTACH, INSTALL/LOAD, SET (but ``SET VARIABLE``), PRAGMA, CALL, CHECKPOINT, VACUUM are
   refused by name. Scratch work stays allowed: temporary tables, views and macros, and
   changes to them (the registry and the lake are attached read-only, so a change aimed at
   the store fails there).
2. **The plan.** Every statement that can run a query is EXPLAINed first, and a plan with an
   operator that writes a file or maintains the lake (``COPY_TO_FILE``,
   ``DUCKLAKE_COMPACTION``, ``DUCKLAKE_FLUSH_DATA`` ...) is refused. This is what stops the
   lake's maintenance functions however they are reached (directly, from a macro or a view,
   through ``query()``): DuckLake runs them on a lake attached read-only and fails only when
   it commits, after writing its files (measured with DuckDB 1.5.5: a
   ``ducklake_merge_adjacent_files`` left two parquet files no snapshot names). EXPLAIN binds
   views, macros and ``query()`` strings, so the plan shows what would really run. The same
   check keeps a ``--clips`` condition from calling anything that writes.
3. **The connection** (:func:`lock_down`): ``enable_external_access`` off, with the lake's data
   folder and the files named with ``--read`` the only paths DuckDB may open. Whatever the
   first two locks miss still cannot touch a file elsewhere.

With ``--write`` the first two locks are off (the user asked for changes), but a statement that
names a file (COPY ... TO, EXPORT DATABASE, ATTACH, a setting that writes a file) must name it
as a quoted literal, and a file inside the store's folder is refused: only the store writes
there. The check works on DuckDB's tokens, so it guards against mistakes, not against a
determined user with ``--write``, who could change the store through mmemo's own tables anyway.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb

from mmemo.errors import InputError

#: Statement kinds a read-only query may hold (each also passes the plan check, lock 2).
_READ_KINDS = {
    "SELECT",
    "EXPLAIN",
    "CREATE",
    "DROP",
    "INSERT",
    "UPDATE",
    "DELETE",
    "MERGE_INTO",
    "ALTER",
    "TRANSACTION",
    "PREPARE",
    "EXECUTE",
}
#: Kinds that run nothing whose plan could write (a transaction bound, a DROP of scratch).
_NOTHING_TO_PLAN = {"TRANSACTION", "DROP", "PREPARE"}
#: Plan operators that write files or change the lake's files or catalog.
_WRITING_OPERATORS = {"COPY_TO_FILE", "BATCH_COPY_TO_FILE", "CHECKPOINT", "FORCE_CHECKPOINT"}
#: DuckLake operators that only read (any other ``DUCKLAKE_*`` operator maintains the lake).
_LAKE_READS = {
    "DUCKLAKE_SCAN",
    "DUCKLAKE_SNAPSHOTS",
    "DUCKLAKE_CURRENT_SNAPSHOT",
    "DUCKLAKE_LAST_COMMITTED_SNAPSHOT",
    "DUCKLAKE_LIST_FILES",
    "DUCKLAKE_OPTIONS",
    "DUCKLAKE_SETTINGS",
    "DUCKLAKE_TABLE_INFO",
    "DUCKLAKE_TABLE_INSERTIONS",
    "DUCKLAKE_TABLE_DELETIONS",
}
#: How DuckDB says a statement would write to a database attached read-only.
_READ_ONLY_DATABASE = re.compile(
    r'on database "([^"]+)" which is attached in read-only mode|readonly database'
)
#: Settings whose value is a file or folder DuckDB writes to.
_FILE_SETTINGS = {
    "temp_directory",
    "profile_output",
    "profiling_output",
    "log_query_path",
    "http_logging_output",
    "extension_directory",
    "secret_directory",
    "home_directory",
}
#: Functions that a CALL statement can make write files.
_FILE_CALLS = {"enable_logging"}
#: Kinds that name files to write, checked with ``--write`` (lock 4).
_NAMING_KINDS = {"COPY", "EXPORT", "ATTACH", "SET", "PRAGMA", "CALL", "COPY_DATABASE"}


def read_only_message(detail: str) -> str:
    """The one line for a read-only query that would change something."""
    return (
        f"the store is opened read-only and this query changes it ({detail}); "
        "pass --write to allow changes"
    )


def lock_down(con: duckdb.DuckDBPyConnection, readable: Sequence[str]) -> None:
    """Lock 3: from now on ``con`` opens no file but those under ``readable`` (folders end
    with ``/``), and its settings cannot be changed back."""
    folders = [p for p in readable if p.endswith("/")]
    files = [p for p in readable if not p.endswith("/")]
    con.execute("SET allowed_directories = ?", [folders])
    con.execute("SET allowed_paths = ?", [files])
    con.execute("SET enable_external_access = false")
    con.execute("SET allowed_configs = ['explain_output']")  # for plan_writes
    con.execute("SET lock_configuration = true")


def checked_statements(
    con: duckdb.DuckDBPyConnection, query: str, *, write: bool, protected: Sequence[Path]
) -> Iterator[Any]:
    """The statements of ``query``, each checked just before the caller runs it (a statement
    may use a table an earlier one made, so the plan of each is known only then).

    Raises:
        InputError: a read-only query with a statement that would write (locks 1 and 2), or a
            statement that names a file inside one of the ``protected`` folders.
    """
    for statement in con.extract_statements(query):
        if write:
            _check_named_files(statement, protected)
        else:
            _check_read_only(con, statement)
        yield statement


def plan_writes(con: duckdb.DuckDBPyConnection, query: str) -> str | None:
    """Lock 2: what in ``query``'s plan would write a file or change the lake (an operator
    such as ``DUCKLAKE_COMPACTION``, or a write to an attached database), or None.

    Raises:
        duckdb.Error: the query cannot be planned (the caller reports it as a SQL error).
    """
    # Every plan, the unoptimised one included: the optimiser may drop a function from this
    # query (a LIMIT 0, a condition known false) that another query of the same text keeps.
    con.execute("SET explain_output = 'all'")
    try:
        rows = con.execute(f"EXPLAIN (FORMAT json) {query}").fetchall() if query.strip() else []
    except duckdb.InvalidInputException as exc:
        read_only = _READ_ONLY_DATABASE.search(str(exc))
        if read_only is None:
            raise
        return f"a write to {read_only.group(1) or 'the store'}"
    finally:
        con.execute("RESET explain_output")
    if not rows:
        return "a statement DuckDB gives no plan for (such as PIVOT), which cannot be checked"
    for _, plan in rows:
        for name in _operators(json.loads(plan)):
            if name in _WRITING_OPERATORS or (
                name.startswith("DUCKLAKE_") and name not in _LAKE_READS
            ):
                return name
    return None


def _operators(nodes: list[dict[str, Any]]) -> Iterator[str]:
    for node in nodes:
        yield str(node.get("name", ""))
        info = node.get("extra_info")
        if isinstance(info, dict) and "Function" in info:
            yield str(info["Function"])
        yield from _operators(node.get("children", []))


def _check_read_only(con: duckdb.DuckDBPyConnection, statement: Any) -> None:
    kind = statement.type.name
    text = statement.query.strip()
    words = _words(text)
    if kind == "SET" and words[:2] in (["SET", "VARIABLE"], ["RESET", "VARIABLE"]):
        return
    if kind not in _READ_KINDS:
        raise InputError(read_only_message(f"{_first_word(words, kind)} statements"))
    if kind == "EXPLAIN":
        inner = _after_explain_analyze(text)
        if inner is not None:  # EXPLAIN ANALYZE runs its statement
            _refuse_writes(con, inner)
        return
    if kind not in _NOTHING_TO_PLAN:
        _refuse_writes(con, text)


def _refuse_writes(con: duckdb.DuckDBPyConnection, text: str) -> None:
    found = plan_writes(con, text)
    if found is not None:
        raise InputError(read_only_message(f"it runs {found}"))


def _check_named_files(statement: Any, protected: Sequence[Path]) -> None:
    kind = statement.type.name
    if kind not in _NAMING_KINDS:
        return
    text = statement.query.strip()
    words = _words(text)
    if kind in ("SET", "PRAGMA", "CALL"):
        named = next((w.lower() for w in words[1:] if w not in ("GLOBAL", "SESSION", "LOCAL")), "")
        if named not in _FILE_SETTINGS | _FILE_CALLS:
            return
    names = _quoted(text)
    if kind == "COPY" and not _copy_target_is_literal(text):
        raise InputError("COPY ... TO: give the file as a quoted path, not an expression")
    if kind in ("EXPORT", "ATTACH") and not names:
        raise InputError(f"{_first_word(words, kind)}: give the file as a quoted path")
    for name in names:
        path = _inside(name, protected)
        if path is not None:
            raise InputError(
                f"{_first_word(words, kind)} would write {name!r} inside the store's folder "
                f"{path}: only mmemo writes there; choose a file elsewhere"
            )


def _copy_target_is_literal(text: str) -> bool:
    """Whether a COPY statement's target (after its top-level TO) is one quoted token; a
    COPY ... FROM has none to check."""
    pieces = _pieces(text)
    depth = 0
    for n, (kind, piece) in enumerate(pieces):
        if kind == duckdb.token_type.operator:
            depth += piece.count("(") - piece.count(")")
        elif depth == 0 and kind == duckdb.token_type.keyword and piece.upper() == "TO":
            target = pieces[n + 1] if n + 1 < len(pieces) else (None, "")
            return target[0] == duckdb.token_type.string_const or target[1].startswith('"')
    return True


def _inside(name: str, protected: Sequence[Path]) -> Path | None:
    """The protected folder that the path ``name`` lies in, if any."""
    if "://" in name or not name.strip():
        return None
    path = Path(name.removeprefix("ducklake:").removeprefix("sqlite:")).expanduser()
    resolved = path.resolve() if path.is_absolute() else (Path.cwd() / path).resolve()
    for folder in protected:
        root = folder.resolve()
        if resolved == root or root in resolved.parents:
            return folder
    return None


def _quoted(text: str) -> list[str]:
    """The string literals and double-quoted identifiers of ``text``, unquoted."""
    found = []
    for kind, piece in _pieces(text):
        if kind == duckdb.token_type.string_const and piece.startswith("'"):
            found.append(piece[1:-1].replace("''", "'"))
        elif kind == duckdb.token_type.identifier and piece.startswith('"'):
            found.append(piece[1:-1].replace('""', '"'))
    return found


def _pieces(text: str) -> list[tuple[Any, str]]:
    """DuckDB's tokens of ``text``: (token type, its text)."""
    tokens = duckdb.tokenize(text)
    ends = [start for start, _ in tokens[1:]] + [len(text)]
    return [
        (kind, text[start:end].strip()) for (start, kind), end in zip(tokens, ends, strict=True)
    ]


def _words(text: str) -> list[str]:
    return [w.upper() for w in re.findall(r"[A-Za-z_]+", text[:200])][:4]


def _first_word(words: list[str], kind: str) -> str:
    return words[0] if words else kind


def _after_explain_analyze(text: str) -> str | None:
    match = re.match(r"\s*EXPLAIN\s+ANALY[SZ]E\s+(.*)\Z", text, re.IGNORECASE | re.DOTALL)
    return match.group(1) if match else None
