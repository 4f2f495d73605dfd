"""The store: registry (SQLAlchemy + Alembic), lake (DuckLake) and one DuckDB connection.

Only this package knows where bytes live. A :class:`Store` is cheap; work happens in a
:class:`Session`, which holds the store's files open. Writers hold a session only to read
inputs or commit, never across long compute, so other commands can use the store meanwhile.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from mmemo.errors import StoreError
from mmemo.store import migrate, writer_note
from mmemo.store.backends import (
    Artefacts,
    create_s3_secret,
    extension_file,
    load_extension,
    sql_literal,
)
from mmemo.store.config import (
    CONFIG_FILE,
    StoreConfig,
    is_postgres,
    is_s3,
    libpq,
    load_config,
    registry_url,
    save_config,
)
from mmemo.store.damage import damage_message, damaged_part, is_locked
from mmemo.store.guard import lock_down
from mmemo.store.retry import GiveUp, retrying
from mmemo.store.session import Session
from mmemo.store.team import (
    LAKE_METADATA_SCHEMA,
    postgres_engine,
    record_locations,
    store_locations,
)

STORE_ENV = "MMEMO_STORE"
DEFAULT_STORE = "mmemo-store"
LOCK_TIMEOUT_ENV = "MMEMO_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 10.0


def default_store_path() -> Path:
    """``$MMEMO_STORE`` or ``./mmemo-store``."""
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


def ducklake_extension() -> Path:
    """Path of the DuckLake extension binary shipped by ``duckdb-extension-ducklake``."""
    return extension_file("ducklake")


def _part(name: str, doc: str) -> property:
    """A :class:`StorePaths` attribute: the path ``name`` in the store folder."""
    return property(lambda self: self.root / name, doc=doc)


@dataclass(frozen=True)
class StorePaths:
    """Where a store folder keeps its local parts (the defaults of :class:`StoreConfig`)."""

    root: Path

    registry = _part("registry.duckdb", "The registry database (runs, jobs, datasets).")
    catalog = _part("lake.ducklake", "The DuckLake catalog database.")
    data = _part("lake", "The folder of the lake's parquet files.")
    models = _part("models", "The folder of saved models and training checkpoints.")
    holder = _part(".writer.json", "The writer lock's record of its holder.")
    config = _part(CONFIG_FILE, "The store's configuration file.")


class Store:
    """A store: its folder (``mmemo.toml``, local parts, model files, scratch) and, per its
    config, a registry, a lake catalog and a data location that may be shared (team mode)."""

    def __init__(self, root: Path | str, config: StoreConfig | None = None) -> None:
        self.paths = StorePaths(Path(root).expanduser().absolute())
        self.config = config if config is not None else load_config(self.paths.root)
        self.artefacts = Artefacts(self.paths.root, self.config.data)
        self._schema_checked = False  # checked once per Store object: sessions are frequent

    @property
    def root(self) -> Path:
        return self.paths.root

    @property
    def is_team(self) -> bool:
        """Whether the registry is shared (PostgreSQL) rather than the folder's own file."""
        return self.config.registry is not None

    def describe(self) -> str:
        """Where each part lives, for messages and ``mmemo doctor``."""
        return (
            f"registry {self.config.registry or self.paths.registry}, "
            f"catalog {self.config.catalog or self.paths.catalog}, "
            f"data {self.lake_data_path()}"
        )

    def exists(self) -> bool:
        """Whether there is a store here (for a shared registry: whether it is configured;
        reaching it is checked when a session opens)."""
        return self.is_team or self.paths.registry.is_file()

    def lake_data_path(self) -> str:
        base = self.config.data or str(self.paths.root)
        return f"{base}/lake/"

    def own_paths(self) -> list[Path]:
        """The files and folders on this machine that only the store writes: its folder, and
        a catalog file or data folder configured elsewhere."""
        found = [self.root]
        if self.config.catalog and not is_postgres(self.config.catalog):
            found.append(Path(self.config.catalog))
        if self.config.data and not is_s3(self.config.data):
            found.append(Path(self.config.data))
        return found

    # -- creation and upgrades -------------------------------------------------------------

    @classmethod
    def init(cls, root: Path | str, config: StoreConfig | None = None) -> Store:
        """Create a store (or bring an existing one to the current schema) and return it.

        ``config`` places the registry, catalog and data elsewhere (team mode); it is saved
        as the folder's ``mmemo.toml``.
        """
        folder = Path(root).expanduser().absolute()
        if folder.exists() and not folder.is_dir():
            raise StoreError(f"{folder}: exists and is not a directory")
        written = None
        if config is not None and not config.is_local:
            folder.mkdir(parents=True, exist_ok=True)
            if not StorePaths(folder).config.exists():
                written = save_config(folder, config)
            elif load_config(folder, environ={}) != config.check(str(folder)):
                raise StoreError(
                    f"{folder} is configured for another store ({StorePaths(folder).config}); "
                    "use another folder"
                )
        try:
            store = cls(folder)
            for path in (store.root, store.paths.models):
                path.mkdir(parents=True, exist_ok=True)
            if store.config.data is None:
                store.paths.data.mkdir(exist_ok=True)
            elif not is_s3(store.config.data):
                Path(store.config.data, "lake").mkdir(parents=True, exist_ok=True)
            store.upgrade()
        except BaseException:
            if written is not None:
                written.unlink(missing_ok=True)
            raise
        return store

    @classmethod
    def connect(cls, root: Path | str, source: str) -> Store:
        """Point the folder ``root`` at an existing shared store and return it.

        ``source`` is the store's registry URL (its catalog and data are read from the
        registry) or another folder configured for it; ``root`` gets a ``mmemo.toml``.
        """
        folder = Path(root).expanduser().absolute()
        paths = StorePaths(folder)
        if paths.registry.exists():
            raise StoreError(f"{folder} holds a local store; connect another folder")
        if is_postgres(source):
            registry = registry_url(source, source)
            engine = postgres_engine(registry)
            try:
                migrate.check(engine, Path(source))
                found = store_locations(engine)
            except sa.exc.SQLAlchemyError as exc:
                raise StoreError(f"{source}: {str(exc).splitlines()[0]}") from None
            finally:
                engine.dispose()
            config = StoreConfig(registry, found.get("catalog"), found.get("data")).check(source)
        else:
            origin = Path(source).expanduser().absolute()
            if not origin.is_dir():
                raise StoreError(f"{source}: neither a PostgreSQL URL nor a store folder")
            config = load_config(origin, environ={})
            if config.is_local:
                raise StoreError(
                    f"{origin} is a local store: it cannot be shared; use --store {origin}"
                )
        if paths.config.exists() and load_config(folder, environ={}) != config:
            raise StoreError(f"{paths.config} points at another store; connect another folder")
        store = cls(folder, config)
        with store.session():  # reachable, and at this mmemo's schema: only then write
            pass
        folder.mkdir(parents=True, exist_ok=True)
        save_config(folder, config)
        return cls(folder)

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
            if self.is_team:
                record_locations(s.engine, self.config, self.root)
            applied += s.apply_lake_migrations()
        return applied

    # -- sessions ----------------------------------------------------------------------------

    @contextmanager
    def session(
        self,
        *,
        write: bool = False,
        check_schema: bool = True,
        user_sql: bool = False,
        readable: Sequence[str] = (),
    ) -> Iterator[Session]:
        """Open the registry and the lake in one DuckDB connection with the views created.

        Args:
            write: open for writing (on a local store: exclusive); otherwise read-only.
            check_schema: refuse a store whose registry is not at this mmemo's schema.
            user_sql: the connection will run SQL a user typed, so DuckDB keeps verifying the
                signature of any extension loaded through it (see :func:`_duckdb_config`);
                read-only, it opens no file but the lake's and ``readable``
                (:func:`mmemo.store.guard.lock_down`).
            readable: with ``user_sql``, read-only: absolute paths of files (and folders,
                ending in ``/``) that the user's SQL may read.
        """
        if not write and not self.exists():
            raise StoreError(f"no mmemo store at {self.root}; create one with `mmemo init`")
        engine, con = self._connect(write, _duckdb_config(verify=user_sql))
        damaged: str | None = None
        try:
            session = Session(self, engine, con, write=write)
            if check_schema and not self._schema_checked:
                self._check_schema(session)
            if user_sql and not write:
                lock_down(con, [self.lake_data_path(), *readable])
            claim = write and not self.is_team
            if claim:
                writer_note.leave(self.paths.holder)
            try:
                yield session
            finally:
                if claim:
                    self.paths.holder.unlink(missing_ok=True)
        except (duckdb.Error, sa.exc.DBAPIError) as exc:
            detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            part = damaged_part(detail, self.lake_data_path())
            if part is None:
                raise
            damaged = damage_message(self.root, part, detail, self.database_files())
        finally:
            if self.is_team:
                con.close()
            engine.dispose()
        if damaged is not None:  # named once the store's files are closed: they are read back
            raise StoreError(damaged)

    def _check_schema(self, session: Session) -> None:
        try:
            migrate.check(session.engine, self.root)
        except sa.exc.OperationalError as exc:  # a shared registry out of reach
            if damaged_part(str(exc.orig), self.lake_data_path()) is not None:
                raise
            raise StoreError(
                f"store {self.root}: registry {self.config.registry}: "
                f"{str(exc.orig).splitlines()[0]}"
            ) from None
        pending = session.pending_lake_migrations()
        if pending:
            raise StoreError(
                f"store {self.root} needs lake schema {', '.join(pending)}: run `mmemo migrate`"
            )
        self._schema_checked = True

    def database_files(self) -> list[Path]:
        """The store's DuckDB files on this machine: the registry and the lake catalog."""
        files = [] if self.is_team else [self.paths.registry]
        if not self.config.catalog:
            files.append(self.paths.catalog)
        elif not is_postgres(self.config.catalog):
            files.append(Path(self.config.catalog))
        return files

    def _connect(
        self, write: bool, config: dict[str, str]
    ) -> tuple[sa.Engine, duckdb.DuckDBPyConnection]:
        if self.is_team:
            return self._connect_team(write, config)
        timeout = float(os.environ.get(LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT))

        def attempt() -> tuple[sa.Engine, duckdb.DuckDBPyConnection]:
            engine = sa.create_engine(
                f"duckdb:///{self.paths.registry}",
                poolclass=StaticPool,
                connect_args={"read_only": not write, "config": config},
            )
            try:
                con = duckdb_connection(engine)
                self._attach_lake(con, write=write)
                return engine, con
            except (duckdb.Error, sa.exc.OperationalError) as exc:
                engine.dispose()
                message = str(getattr(exc, "orig", None) or exc)
                if is_locked(message):
                    raise _Locked(message) from None
                detail = message.splitlines()[0]
                part = damaged_part(detail, self.lake_data_path())
                if part is not None:
                    files = self.database_files()
                    raise StoreError(damage_message(self.root, part, detail, files)) from None
                raise StoreError(f"{self.paths.registry}: {detail}") from None

        try:
            return retrying(
                attempt,
                when=lambda e: isinstance(e, _Locked),
                seconds=timeout,
                cap=1.0,
                jitter=False,
            )
        except GiveUp:
            raise StoreError(self._busy_message(timeout)) from None

    def _connect_team(
        self, write: bool, config: dict[str, str]
    ) -> tuple[sa.Engine, duckdb.DuckDBPyConnection]:
        """A shared registry: SQLAlchemy talks to PostgreSQL; the query connection is an
        in-memory DuckDB with the registry attached (as the default catalog) and the lake."""
        assert self.config.registry is not None
        engine = postgres_engine(self.config.registry)
        con = duckdb.connect(config=config)
        try:
            load_extension(con, "postgres")
            mode = "" if write else ", READ_ONLY"
            con.execute(
                f"ATTACH {sql_literal(libpq(self.config.registry))} AS registry "
                f"(TYPE postgres{mode})"
            )
            con.execute("USE registry")
            self._attach_lake(con, write=write)
        except BaseException as exc:
            con.close()
            engine.dispose()
            if isinstance(exc, duckdb.Error):
                raise StoreError(
                    f"store {self.root}: cannot open {self.describe()}: {str(exc).splitlines()[0]}"
                ) from None
            raise
        return engine, con

    def _attach_lake(self, con: duckdb.DuckDBPyConnection, *, write: bool) -> None:
        load_extension(con, "ducklake")
        catalog = self.config.catalog
        options = [f"DATA_PATH {sql_literal(self.lake_data_path())}"]
        if self.config.data is None:
            # The catalog keeps data file paths relative to DATA_PATH; overriding the recorded
            # one lets a store folder be moved or copied.
            options.append("OVERRIDE_DATA_PATH TRUE")
        if is_postgres(catalog):
            load_extension(con, "postgres")
            target = f"ducklake:postgres:{libpq(catalog)}"
            options.append(f"METADATA_SCHEMA {sql_literal(LAKE_METADATA_SCHEMA)}")
        else:
            path = Path(catalog) if catalog else self.paths.catalog
            if not write and not path.exists():
                raise StoreError(f"{self.root}: lake catalog {path} is missing; run `mmemo init`")
            target = f"ducklake:{path}"
        if is_s3(self.config.data):
            load_extension(con, "httpfs")
            create_s3_secret(con)
        if not write:
            options.append("READ_ONLY")
        con.execute(f"ATTACH {sql_literal(target)} AS lake ({', '.join(options)})")

    def _busy_message(self, waited: float) -> str:
        return (
            f"store {self.root} is busy: {writer_note.holder(self.paths.holder)} is writing to "
            f"it; waited {waited:g} s "
            f"(set {LOCK_TIMEOUT_ENV} to wait longer)"
        )


def _duckdb_config(*, verify: bool) -> dict[str, str]:
    """Settings of mmemo's DuckDB connections: extensions come only from the installed
    ``duckdb-extension-*`` packages, never from the network. Checking an extension's signature
    costs about 0.2 s per file and connection, most of a session's opening time, so
    connections that run only mmemo's own SQL trust the files pip installed beside duckdb (as
    Python trusts the duckdb module itself); connections for user SQL keep the check."""
    config = {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
    if not verify:
        config["allow_unsigned_extensions"] = "true"
    return config


def duckdb_connection(engine: sa.Engine) -> duckdb.DuckDBPyConnection:
    """The DuckDB connection under a (single-connection) duckdb-engine engine."""
    wrapper = engine.raw_connection().driver_connection
    return wrapper._ConnectionWrapper__c  # type: ignore[union-attr]


class _Locked(Exception):
    """Another process holds a local store's files (retried until the lock timeout)."""
