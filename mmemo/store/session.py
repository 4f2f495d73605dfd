"""An open store: one DuckDB connection (registry as default catalog, lake as ``lake``),
the SQLAlchemy engine on it, and the one way lake rows are committed.

A full disk is reported here, once for every writer, as one line naming the store
(:func:`~mmemo.store.backends.no_space_error`): a lake commit that runs out of space removes
the partial data file it was writing before it says so (DuckLake's rollback removes the files
the transaction had finished, not the one it was writing when the disk filled up), and a
registry write says so through the engine's error hook.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import duckdb
import sqlalchemy as sa
from sqlalchemy.orm import Session as OrmSession

from mmemo.errors import StoreError
from mmemo.resources import read_sql, sql_dir
from mmemo.sqltext import idents, qualified
from mmemo.store.backends import no_space_error, out_of_space
from mmemo.store.config import is_postgres
from mmemo.store.retry import GiveUp, retrying
from mmemo.store.schema import LakeMigration
from mmemo.store.views import files_for
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
        #: What ``ensure_views`` made: the vocabulary, the view files (by name), and whether
        #: the lake has clips to make views over (None: not looked yet).
        self._vocabulary_made = False
        self._views_made: set[str] = set()
        self._has_clips: bool | None = None
        #: A transaction is open on the connection: the ORM's (tracked through the engine's
        #: events) or a lake commit's. DuckDB aborts an open transaction when a BEGIN fails, so
        #: whether one is open is known here, never found out by trying.
        self._in_transaction = False
        #: The views were made inside a transaction still open: its rollback takes them away.
        self._views_uncommitted = False
        sa.event.listen(engine, "handle_error", self._registry_error)
        sa.event.listen(engine, "begin", lambda _connection: self._began())
        sa.event.listen(engine, "commit", lambda _connection: self._ended(committed=True))
        sa.event.listen(engine, "rollback", lambda _connection: self._ended(committed=False))

    def _began(self) -> None:
        self._in_transaction = True

    def _ended(self, *, committed: bool) -> None:
        if self._views_uncommitted and not committed:
            # rolled back with the transaction: made again on use
            self._vocabulary_made, self._views_made, self._has_clips = False, set(), None
        self._in_transaction = self._views_uncommitted = False

    def _registry_error(self, context: sa.engine.ExceptionContext) -> None:
        """Turn a registry statement or commit that found the disk full into the store's one
        line (every registry writer goes through this engine: ORM commits, migrations)."""
        if out_of_space(context.original_exception):
            raise no_space_error(self.store.root, "writing to the registry") from None

    # -- queries -------------------------------------------------------------------------------

    def ensure_views(self, query: str | None = None) -> None:
        """Create the class vocabulary (``emotions``, ``emotion_label``) and the temporary
        views of ``sql/views`` that ``query`` reads, or all of them (idempotent)."""
        files = [f for f in files_for(query) if f.name not in self._views_made]
        if self._vocabulary_made and (not files or self._has_clips is False):
            return
        # One transaction for all of them: DuckLake then reads its catalog once, not once per
        # statement, which halves the time a session takes to be ready (about 0.2 s to 0.1 s).
        with self._transaction():
            if not self._vocabulary_made:
                create_vocabulary(self.con)
                self._vocabulary_made = True
            if files and self._has_clips is None:
                self._has_clips = "clips" in self.lake_tables()
            if files and self._has_clips:
                for file in files:
                    self.con.execute(file.sql)
                    self._views_made.add(file.name)
        self._views_uncommitted = self._in_transaction

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """A transaction of its own, or the caller's if one is open already."""
        if self._in_transaction:  # the caller's commits
            yield
            return
        with self._own_transaction():
            yield

    @contextlib.contextmanager
    def _own_transaction(self) -> Iterator[None]:
        """BEGIN, then COMMIT, or roll back on any error; tracked in ``_in_transaction``."""
        self.con.execute("BEGIN TRANSACTION")
        self._began()
        try:
            yield
            self.con.execute("COMMIT")
        except BaseException:
            _rollback(self.con)
            self._ended(committed=False)
            raise
        self._ended(committed=True)

    def sql(self, query: str, params: Any = None) -> duckdb.DuckDBPyRelation | None:
        """Run ``query`` with the views it reads in place; ``params`` are bound, never
        formatted in."""
        self.ensure_views(query)
        return self.con.sql(query, params=params)

    def fetch(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        self.ensure_views(query)
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
            with self._own_transaction():
                write(self.con)
                self.con.execute("CALL lake.set_commit_message('mmemo', ?)", [message])

        try:
            # DuckLake already retried what does not conflict logically; what remains is
            # another writer's change to the same rows or tables: try ours again later. A
            # COMMIT that could not write the catalog's log for want of space is no conflict.
            retrying(
                attempt,
                when=lambda e: isinstance(e, duckdb.TransactionException) and not out_of_space(e),
                attempts=retries + 1,
                delay=0.2,
            )
        except GiveUp as exc:
            raise StoreError(
                f"store {self.store.root}: '{message}' kept conflicting with other "
                f"writers ({retries + 1} attempts; set {COMMIT_RETRIES_ENV} to try "
                f"more): {str(exc.last).splitlines()[0]}"
            ) from None
        except Exception as exc:
            if not out_of_space(exc):
                raise
            if self.sole_writer:  # else gc removes the partial file once it is old enough
                with contextlib.suppress(duckdb.Error):  # the full disk is the news
                    self.remove_orphan_files()
            raise no_space_error(self.store.root, f"writing to the lake ({message})") from None
        return self.current_snapshot()

    @property
    def sole_writer(self) -> bool:
        """Whether no other process can be writing to the lake: this session writes to a
        catalog in a DuckDB file, which one process at a time can open for writing (the
        registry of such a store is local too, and its writers hold the store in turn)."""
        return self.write and not is_postgres(self.store.config.catalog)

    def remove_orphan_files(self) -> list[str]:
        """Delete the lake's data files that no snapshot references (the partial files of a
        write that failed or was killed); return their paths. Only deletes: it works on a
        full disk.

        DuckLake knows which files its catalog references
        (``ducklake_delete_orphaned_files``), but not which unreferenced file is still being
        written by an open transaction: deleting that one breaks the other writer's table
        (tried: its COMMIT still succeeds and records the file, and every read of the table
        then fails on the missing file). So a sole writer
        (:attr:`sole_writer`) deletes every unreferenced file, and on a shared catalog only
        files older than the lake's ``delete_older_than`` option (DuckLake's default: 2 days;
        set it with ``CALL lake.set_option('delete_older_than', '1 hour')``) are deleted: a
        transaction's files are new until it commits. The last snapshot's time would be no
        guard: other writers commit while one writes.
        """
        if not self.write:
            raise StoreError("internal: lake files removed on a read-only session")
        rows = self.con.execute(
            "SELECT path FROM ducklake_delete_orphaned_files('lake', cleanup_all => ?)",
            [self.sole_writer],
        ).fetchall()
        return sorted(r[0] for r in rows)

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
