"""Alembic environment of the mmemo registry.

mmemo runs migrations programmatically (``mmemo init`` / ``mmemo migrate``) and hands the
connection in through ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from mmemo.store import migrate  # noqa: F401  (registers Alembic's DuckDB dialect support)
from mmemo.store.schema import Base


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # DuckLake keeps its own tables; Alembic never looks at them.
        include_name=lambda name, type_, parent: not (name or "").startswith("ducklake_"),
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("mmemo migrations run online only (mmemo migrate)")
run_migrations_online()
