"""Registry schema versions through Alembic (``migrations/``)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.ddl.impl import DefaultImpl
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from mmemo.errors import StoreError
from mmemo.resources import migrations_dir


class DuckDBImpl(DefaultImpl):
    """Alembic support for DuckDB (through duckdb-engine): plain transactional DDL."""

    __dialect__ = "duckdb"
    transactional_ddl = True


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest registry revision this mmemo knows."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def current(engine: sa.Engine) -> str | None:
    """The registry revision of a store (None for an empty registry)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine) -> list[str]:
    """Migrate the registry to head; return the revisions applied."""
    before = current(engine)
    scripts = ScriptDirectory.from_config(_config())
    _refuse_unknown(scripts, before, engine)
    with engine.begin() as conn:
        command.upgrade(_config(conn), "head")
    if before == head():
        return []
    revisions = [s.revision for s in scripts.iterate_revisions(head(), before)]
    return [f"registry {r}" for r in reversed(revisions)]


def check(engine: sa.Engine, root: Path) -> None:
    """Refuse a store whose registry is older (run `mmemo migrate`) or newer than this mmemo."""
    revision = current(engine)
    scripts = ScriptDirectory.from_config(_config())
    _refuse_unknown(scripts, revision, engine, root)
    if revision != head():
        raise StoreError(
            f"store {root} has registry schema {revision or 'none'}, this mmemo needs {head()}: "
            "run `mmemo migrate`"
        )


def _refuse_unknown(
    scripts: ScriptDirectory, revision: str | None, engine: sa.Engine, root: Path | None = None
) -> None:
    if revision is None:
        return
    try:
        scripts.get_revision(revision)
    except Exception:  # alembic raises several types for an unknown revision
        where = root or engine.url.database
        raise StoreError(
            f"store {where} was created by a newer mmemo (registry schema {revision}); "
            "upgrade mmemo to use it"
        ) from None
