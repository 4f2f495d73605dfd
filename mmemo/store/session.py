"""An open store: one DuckDB connection (registry as default catalog, lake as ``lake``),
the SQLAlchemy engine on it, and the one way lake rows are committed."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import duckdb
import sqlalchemy as sa
from sqlalchemy.orm import Session as OrmSession

from mmemo.errors import StoreError
from mmemo.resources import read_sql, sql_dir
from mmemo.sqltext import idents, qualified
from mmemo.store.retry import GiveUp, retrying
from mmemo.store.schema import LakeMigration
from mmemo.store.vocabulary import create_vocabulary

if TYPE_CHECKING:
    from mmemo.store.store import Store

COMMIT_RETRIES_ENV = "MMEMO_COMMIT_RETRIES"
DEFAULT_COMMIT_RETRIES = 5


def _commit_retries() -> int:
    text = os.environ.get(COMMIT_RETRIES_ENV, str(DEFAULT_COMMIT_RETRIES))
    if not text.isdigit():
        raise StoreError(f"{COMMIT_RETRIES_ENV}={text!r}: expected a whole number >= 0")
    return int(text)


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    with contextlib.suppress(duckdb.TransactionException):  # a failed COMMIT ended it already
        con.execute("ROLLBACK")


def append_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Any) -> None:
    """Append an Arrow table's rows to lake ``table`` (by column name), inside the caller's
    transaction."""
    columns = idents(rows.column_names)
    con.register("mmemo_new_rows", rows)
    try:
        target = qualified("lake", table)
        con.execute(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM mmemo_new_rows")
    finally:
        con.unregister("mmemo_new_rows")


class Session:
    """An open store: the DuckDB connection (registry as default catalog, lake as ``lake``)
    and the SQLAlchemy engine on the same connection."""

    def __init__(
        self, store: Store, engine: sa.Engine, con: duckdb.DuckDBPyConnection, *, write: bool
    ) -> None:
        self.store = store
        self.engine = engine
        self.write = write
        self.con = con
        self._views_ready = False

    # -- queries -------------------------------------------------------------------------------

    def ensure_views(self) -> None:
        """Create the class vocabulary (``emotions``, ``emotion_label``) and the temporary
        views of ``sql/views`` (idempotent)."""
        if self._views_ready:
            return
        create_vocabulary(self.con)
        if "clips" in self.lake_tables():
            for path in sorted((sql_dir() / "views").glob("*.sql")):
                self.con.execute(read_sql(f"views/{path.name}"))
        self._views_ready = True

    def sql(self, query: str, params: Any = None) -> duckdb.DuckDBPyRelation | None:
        """Run ``query`` with the views in place; ``params`` are bound, never formatted in."""
        self.ensure_views()
        return self.con.sql(query, params=params)

    def fetch(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        self.ensure_views()
        return self.con.execute(query, params or []).fetchall()

    def orm(self) -> OrmSession:
        """A SQLAlchemy ORM session on the registry (commit it before any lake write)."""
        return OrmSession(self.engine, expire_on_commit=False)

    def lake_tables(self) -> list[str]:
        rows = self.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake' ORDER BY 1"
        ).fetchall()
        return [r[0] for r in rows]

    # -- lake writes ---------------------------------------------------------------------------

    def commit_lake(self, message: str, write: Callable[[duckdb.DuckDBPyConnection], None]) -> int:
        """Run ``write`` in one lake transaction labelled ``message``; return the snapshot id."""
        if not self.write:
            raise StoreError("internal: lake write on a read-only session")
        retries = _commit_retries()

        def attempt() -> None:
            self.con.execute("BEGIN TRANSACTION")
            try:
                write(self.con)
                self.con.execute("CALL lake.set_commit_message('mmemo', ?)", [message])
                self.con.execute("COMMIT")
            except BaseException:
                _rollback(self.con)
                raise

        try:
            # DuckLake already retried what does not conflict logically; what remains is
            # another writer's change to the same rows or tables: try ours again later.
            retrying(
                attempt,
                when=lambda e: isinstance(e, duckdb.TransactionException),
                attempts=retries + 1,
                delay=0.2,
            )
        except GiveUp as exc:
            raise StoreError(
                f"store {self.store.root}: '{message}' kept conflicting with other "
                f"writers ({retries + 1} attempts; set {COMMIT_RETRIES_ENV} to try "
                f"more): {str(exc.last).splitlines()[0]}"
            ) from None
        return self.current_snapshot()

    def current_snapshot(self) -> int:
        row = self.con.execute("SELECT max(snapshot_id) FROM lake.snapshots()").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def pending_lake_migrations(self) -> list[str]:
        """Names of ``sql/lake/*.sql`` files not yet applied to this lake, in order."""
        with self.orm() as orm:
            done = {m.name for m in orm.scalars(sa.select(LakeMigration))}
        return [p.stem for p in sorted((sql_dir() / "lake").glob("*.sql")) if p.stem not in done]

    def apply_lake_migrations(self) -> list[str]:
        """Apply the ``sql/lake/*.sql`` files this lake has not seen, in name order."""
        applied = []
        for stem in self.pending_lake_migrations():
            path = sql_dir() / "lake" / f"{stem}.sql"
            ddl = read_sql(f"lake/{path.name}")
            self.commit_lake(f"lake schema {path.stem}", lambda con, ddl=ddl: con.execute(ddl))
            with self.orm() as orm:
                orm.add(LakeMigration(name=path.stem))
                orm.commit()
            applied.append(f"lake {path.stem}")
        return applied
