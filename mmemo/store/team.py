"""A shared (team) registry on PostgreSQL: its engine and the locations it records."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.pool import NullPool

from mmemo.errors import StoreError
from mmemo.store.config import CONNECT_TIMEOUT, StoreConfig
from mmemo.store.schema import StoreSetting

#: PostgreSQL schema of DuckLake's own tables (the registry keeps ``public``; Alembic never
#: looks at DuckLake's tables).
LAKE_METADATA_SCHEMA = "ducklake"


def postgres_engine(url: str) -> sa.Engine:
    """A SQLAlchemy engine on a PostgreSQL registry (psycopg; one connection per use)."""
    try:
        return sa.create_engine(
            url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT}
        )
    except ImportError:
        raise StoreError("a PostgreSQL registry needs psycopg: pip install 'mmemo[team]'") from None


def record_locations(engine: sa.Engine, config: StoreConfig, root: Path) -> None:
    """Remember a shared registry's catalog and data in the registry itself, so that
    ``mmemo connect`` needs only the registry URL; refuse a config that points one registry
    at another catalog or data location than it was created with."""
    wanted = {"catalog": config.catalog, "data": config.data}
    with OrmSession(engine) as orm:
        known = {s.key: s.value for s in orm.scalars(sa.select(StoreSetting))}
        for key, value in wanted.items():
            if key in known and known[key] != (value or ""):
                raise StoreError(
                    f"store {root}: the registry was created with {key} {known[key] or 'local'}, "
                    f"but the config says {value or 'local'}"
                )
            if key not in known:
                orm.add(StoreSetting(key=key, value=value or ""))
        orm.commit()


def store_locations(engine: sa.Engine) -> dict[str, str | None]:
    """The catalog and data a shared registry was created with (see :func:`record_locations`)."""
    with OrmSession(engine) as orm:
        return {s.key: s.value or None for s in orm.scalars(sa.select(StoreSetting))}
