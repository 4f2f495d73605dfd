"""Claims a scheduler can be asked about, and the foreign keys of child rows.

Every entry and unit of work (ingests, runs, feature sets, run folds, feature-set shards)
records the scheduler job of its holder beside pid and host. A run's folds reference the run
and a feature set's shards reference the set. DuckDB cannot add a constraint to an existing
table, so there the two child tables are rebuilt with their keys (rows whose parent is gone,
left by an interrupted job, are dropped: no view ever showed them).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_HOLDERS = ("ingests", "runs", "feature_sets", "run_folds", "feature_set_shards")
#: child table -> (its key column, parent table)
_CHILDREN = {
    "run_folds": ("run_id", "runs"),
    "feature_set_shards": ("feature_set_id", "feature_sets"),
}


def upgrade() -> None:
    for table in _HOLDERS:
        op.add_column(table, sa.Column("job", sa.String(64)))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for child, (column, parent) in _CHILDREN.items():
            op.execute(f"DELETE FROM {child} WHERE {column} NOT IN (SELECT id FROM {parent})")
            op.create_foreign_key(f"fk_{child}_{parent}", child, parent, [column], ["id"])
        return
    for child, (column, parent) in _CHILDREN.items():
        _rebuild(bind, child, (column, parent))


def _rebuild(bind: sa.Connection, child: str, key: tuple[str, str] | None) -> None:
    """Recreate ``child`` with a foreign key ``key`` = (column, parent table), or without one
    (DuckDB can neither add nor drop a constraint of an existing table)."""
    columns = [
        (row[0], row[1], row[2])
        for row in bind.exec_driver_sql(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = ? AND table_schema = current_schema() ORDER BY ordinal_position",
            (child,),
        )
    ]
    keys = [
        row[0]
        for row in bind.exec_driver_sql(
            "SELECT unnest(constraint_column_names) FROM duckdb_constraints() "
            "WHERE table_name = ? AND constraint_type = 'PRIMARY KEY'",
            (child,),
        )
    ]
    names = ", ".join(f'"{name}"' for name, _, _ in columns)
    saved = f"{child}_before_0003"
    bind.exec_driver_sql(f'CREATE TEMPORARY TABLE "{saved}" AS SELECT * FROM "{child}"')
    bind.exec_driver_sql(f'DROP TABLE "{child}"')
    definitions = [
        f'"{name}" {kind}{"" if nullable == "YES" else " NOT NULL"}'
        for name, kind, nullable in columns
    ]
    definitions.append(f"PRIMARY KEY ({', '.join(keys)})")
    keep = ""
    if key is not None:
        column, parent = key
        definitions.append(f'FOREIGN KEY ("{column}") REFERENCES "{parent}" (id)')
        keep = f'WHERE "{column}" IN (SELECT id FROM "{parent}")'
    bind.exec_driver_sql(f'CREATE TABLE "{child}" ({", ".join(definitions)})')
    bind.exec_driver_sql(f'INSERT INTO "{child}" ({names}) SELECT {names} FROM "{saved}" {keep}')
    bind.exec_driver_sql(f'DROP TABLE "{saved}"')


def downgrade() -> None:
    bind = op.get_bind()
    for child, (_, parent) in _CHILDREN.items():
        if bind.dialect.name == "postgresql":
            op.drop_constraint(f"fk_{child}_{parent}", child, type_="foreignkey")
        else:
            _rebuild(bind, child, None)
    for table in _HOLDERS:
        op.drop_column(table, "job")
