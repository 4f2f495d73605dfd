"""Registry schema versions through Alembic (``migrations/``).

Alembic is imported only when a migration runs or a store's version is not the expected one:
opening a store at head (every command) reads ``alembic_version`` and the revision ids written
in ``migrations/versions/`` instead (about 0.3 s of start-up less per command).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mmemo.errors import StoreError
from mmemo.resources import migrations_dir

_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*=\s*[\"']?([\w.-]+)", re.MULTILINE)


@cache
def _register_duckdb() -> None:
    """Teach Alembic DuckDB (through duckdb-engine): plain transactional DDL."""
    from alembic.ddl.impl import DefaultImpl

    class DuckDBImpl(DefaultImpl):
        __dialect__ = "duckdb"
        transactional_ddl = True


def _config(connection: sa.Connection | None = None) -> Any:
    from alembic.config import Config

    _register_duckdb()
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest registry revision this mmemo knows."""
    from alembic.script import ScriptDirectory

    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def current(engine: sa.Engine) -> str | None:
    """The registry revision of a store (None for an empty registry)."""
    from alembic.runtime.migration import MigrationContext

    _register_duckdb()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: sa.Engine) -> list[str]:
    """Migrate the registry to head; return the revisions applied."""
    from alembic import command
    from alembic.script import ScriptDirectory

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
    if _stamped(engine) == written_head():
        return  # the common case, without importing Alembic (0.2 s)
    from alembic.script import ScriptDirectory

    revision = current(engine)
    scripts = ScriptDirectory.from_config(_config())
    _refuse_unknown(scripts, revision, engine, root)
    if revision != head():
        raise StoreError(
            f"store {root} has registry schema {revision or 'none'}, this mmemo needs {head()}: "
            "run `mmemo migrate`"
        )


def written_head() -> str | None:
    """The head revision as the files in ``migrations/versions/`` write it (the one revision
    no other revises), or None when that is not one revision; checked against Alembic's
    :func:`head` by the tests. Read each time (a few small files): the folder may change."""
    revisions, revised = set(), set()
    for path in (migrations_dir() / "versions").glob("*.py"):
        found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        if "revision" in found:
            revisions.add(found["revision"])
            revised.add(found.get("down_revision"))
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def _stamped(engine: sa.Engine) -> str | None:
    """The revision in the registry's ``alembic_version`` (None if absent or not one)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    except sa.exc.DBAPIError:
        return None
    return rows[0][0] if len(rows) == 1 else None


def _refuse_unknown(
    scripts: Any, revision: str | None, engine: sa.Engine, root: Path | None = None
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
