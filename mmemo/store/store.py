"""The store: registry (SQLAlchemy + Alembic), lake (DuckLake) and one DuckDB connection.

Only this package knows where bytes live. A :class:`Store` is cheap; work happens in a
:class:`Session`, which holds the store's files open. Writers hold a session only to read
inputs or commit, never across long compute, so other commands can use the store meanwhile.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import sqlalchemy as sa
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.pool import StaticPool

from mmemo.errors import StoreError
from mmemo.resources import read_sql, sql_dir
from mmemo.store import migrate
from mmemo.store.registry import LakeMigration

STORE_ENV = "MMEMO_STORE"
DEFAULT_STORE = "mmemo-store"
LOCK_TIMEOUT_ENV = "MMEMO_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 10.0


def default_store_path() -> Path:
    """``$MMEMO_STORE`` or ``./mmemo-store``."""
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


def ducklake_extension() -> Path:
    """Path of the DuckLake extension binary shipped by ``duckdb-extension-ducklake``.

    Loaded from that file: never ``INSTALL`` (no network needed or used).
    """
    import duckdb_extension_ducklake

    base = Path(duckdb_extension_ducklake.__file__).parent / "extensions"
    found = sorted(base.glob(f"v{duckdb.__version__}/*.duckdb_extension"))
    if not found:
        available = sorted(p.parent.name for p in base.glob("*/*.duckdb_extension"))
        raise StoreError(
            f"duckdb-extension-ducklake has no build for duckdb {duckdb.__version__} "
            f"(has {', '.join(available) or 'none'}); install matching versions"
        )
    return found[0]


@dataclass(frozen=True)
class StorePaths:
    """Where a local store keeps its parts."""

    root: Path

    @property
    def registry(self) -> Path:
        return self.root / "registry.duckdb"

    @property
    def catalog(self) -> Path:
        return self.root / "lake.ducklake"

    @property
    def data(self) -> Path:
        return self.root / "lake"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def holder(self) -> Path:
        return self.root / ".writer.json"


class Store:
    """A store folder: ``registry.duckdb``, ``lake.ducklake``, ``lake/`` and ``models/``."""

    def __init__(self, root: Path | str) -> None:
        self.paths = StorePaths(Path(root).expanduser().absolute())
        self._schema_checked = False  # checked once per Store object: sessions are frequent

    @property
    def root(self) -> Path:
        return self.paths.root

    def exists(self) -> bool:
        return self.paths.registry.is_file()

    # -- creation and upgrades -------------------------------------------------------------

    @classmethod
    def init(cls, root: Path | str) -> Store:
        """Create a store (or bring an existing one to the current schema) and return it."""
        store = cls(root)
        if store.root.exists() and not store.root.is_dir():
            raise StoreError(f"{store.root}: exists and is not a directory")
        for folder in (store.root, store.paths.data, store.paths.models):
            folder.mkdir(parents=True, exist_ok=True)
        store.upgrade()
        return store

    @classmethod
    def open(cls, root: Path | str) -> Store:
        """Return the store at ``root``; it must exist (``mmemo init`` creates one)."""
        store = cls(root)
        if not store.exists():
            raise StoreError(f"no mmemo store at {store.root}; create one with `mmemo init`")
        return store

    def upgrade(self) -> list[str]:
        """Apply pending registry migrations and lake DDL; return what was applied."""
        applied: list[str] = []
        with self.session(write=True, check_schema=False) as s:
            applied += migrate.upgrade(s.engine)
            applied += s.apply_lake_migrations()
        return applied

    # -- sessions ----------------------------------------------------------------------------

    @contextmanager
    def session(self, *, write: bool = False, check_schema: bool = True) -> Iterator[Session]:
        """Open the registry and the lake in one DuckDB connection with the views created.

        Args:
            write: open for writing (exclusive); otherwise read-only (shared with readers).
            check_schema: refuse a store whose registry is not at this mmemo's schema.
        """
        if not write and not self.exists():
            raise StoreError(f"no mmemo store at {self.root}; create one with `mmemo init`")
        engine = self._connect(write)
        try:
            session = Session(self, engine, write=write)
            if check_schema and not self._schema_checked:
                migrate.check(engine, self.root)
                pending = session.pending_lake_migrations()
                if pending:
                    raise StoreError(
                        f"store {self.root} needs lake schema {', '.join(pending)}: "
                        "run `mmemo migrate`"
                    )
                self._schema_checked = True
            if write:
                self._claim()
            try:
                yield session
            finally:
                if write:
                    self.paths.holder.unlink(missing_ok=True)
        finally:
            engine.dispose()

    def _connect(self, write: bool) -> sa.Engine:
        timeout = float(os.environ.get(LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT))
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            engine = sa.create_engine(
                f"duckdb:///{self.paths.registry}",
                poolclass=StaticPool,
                connect_args={"read_only": not write},
            )
            try:
                _attach_lake(duckdb_connection(engine), self.paths, write=write)
                return engine
            except (duckdb.Error, sa.exc.OperationalError) as exc:
                engine.dispose()
                message = str(exc)
                if "lock" not in message.lower():
                    raise StoreError(f"{self.paths.registry}: {message.splitlines()[0]}") from None
                if time.monotonic() >= deadline:
                    raise StoreError(self._busy_message(timeout)) from None
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def _claim(self) -> None:
        holder = {
            "pid": os.getpid(),
            "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:]) or "python",
            "since": datetime.now().isoformat(timespec="seconds"),
        }
        self.paths.holder.write_text(json.dumps(holder), encoding="utf-8")

    def _busy_message(self, waited: float) -> str:
        try:
            holder = json.loads(self.paths.holder.read_text(encoding="utf-8"))
            who = f"process {holder['pid']} ({holder['command']}) since {holder['since']}"
        except (OSError, ValueError, KeyError):
            who = "another process"
        return (
            f"store {self.root} is busy: {who} is writing to it; waited {waited:g} s "
            f"(set {LOCK_TIMEOUT_ENV} to wait longer)"
        )


def duckdb_connection(engine: sa.Engine) -> duckdb.DuckDBPyConnection:
    """The DuckDB connection under a (single-connection) duckdb-engine engine."""
    wrapper = engine.raw_connection().driver_connection
    return wrapper._ConnectionWrapper__c  # type: ignore[union-attr]


def _literal(text: str) -> str:
    """A SQL string literal (for statements that take no parameters, like ATTACH)."""
    return "'" + text.replace("'", "''") + "'"


def _attach_lake(con: duckdb.DuckDBPyConnection, paths: StorePaths, *, write: bool) -> None:
    con.execute(f"LOAD {_literal(str(ducklake_extension()))}")
    # The catalog keeps data file paths relative to DATA_PATH; overriding the recorded one
    # lets a store folder be moved or copied.
    options = f"DATA_PATH {_literal(f'{paths.data}/')}, OVERRIDE_DATA_PATH TRUE" + (
        "" if write else ", READ_ONLY"
    )
    if not write and not paths.catalog.exists():
        raise StoreError(f"{paths.root}: the lake catalog is missing; run `mmemo init`")
    con.execute(f"ATTACH {_literal(f'ducklake:{paths.catalog}')} AS lake ({options})")


def append_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Any) -> None:
    """Append an Arrow table's rows to lake ``table`` (by column name), inside the caller's
    transaction."""
    columns = ", ".join(f'"{c}"' for c in rows.column_names)
    con.register("mmemo_new_rows", rows)
    try:
        con.execute(f'INSERT INTO lake."{table}" ({columns}) SELECT {columns} FROM mmemo_new_rows')
    finally:
        con.unregister("mmemo_new_rows")


class Session:
    """An open store: the DuckDB connection (registry as default catalog, lake as ``lake``)
    and the SQLAlchemy engine on the same connection."""

    def __init__(self, store: Store, engine: sa.Engine, *, write: bool) -> None:
        self.store = store
        self.engine = engine
        self.write = write
        self.con = duckdb_connection(engine)
        self._views_ready = False

    # -- queries -------------------------------------------------------------------------------

    def ensure_views(self) -> None:
        """Create the temporary views of ``sql/views`` (idempotent)."""
        if self._views_ready:
            return
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
        self.con.execute("BEGIN TRANSACTION")
        try:
            write(self.con)
            self.con.execute("CALL lake.set_commit_message('mmemo', ?)", [message])
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
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
