"""A run records the dataset its clips belong to.

The class vocabulary belongs to the dataset (0006); a run's scores are columns of that
vocabulary, so reports, ``predict`` and fusion read the vocabulary of the run's own dataset
(``runs.dataset``, a ``datasets.name``) instead of asking the store for its only one. Runs made
before this revision get the store's dataset where it records exactly one (every store until
now: RAVDESS); otherwise they stay NULL and are read as before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("dataset", sa.String(64), nullable=True))
    bind = op.get_bind()
    datasets = sa.table("datasets", sa.column("name", sa.String))
    names = [row[0] for row in bind.execute(sa.select(datasets.c.name))]
    if len(names) == 1:
        runs = sa.table("runs", sa.column("dataset", sa.String))
        bind.execute(runs.update().values(dataset=names[0]))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.drop_column("runs", "dataset")
        return
    # DuckDB cannot alter a table that a foreign key references: run_folds is set aside,
    # rebuilt with its keys after the column goes, and refilled (as 0005 does for shards)
    child = "run_folds"
    definitions = [
        f'"{name}" {kind}{"" if nullable == "YES" else " NOT NULL"}'
        for name, kind, nullable in bind.exec_driver_sql(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = ? AND table_schema = current_schema() ORDER BY ordinal_position",
            (child,),
        )
    ]
    definitions += ["PRIMARY KEY (run_id, fold)", 'FOREIGN KEY ("run_id") REFERENCES "runs" (id)']
    bind.exec_driver_sql(f'CREATE TEMPORARY TABLE "{child}_before_0007" AS SELECT * FROM {child}')
    bind.exec_driver_sql(f'DROP TABLE "{child}"')
    op.drop_column("runs", "dataset")
    bind.exec_driver_sql(f'CREATE TABLE "{child}" ({", ".join(definitions)})')
    bind.exec_driver_sql(f'INSERT INTO "{child}" SELECT * FROM "{child}_before_0007"')
    bind.exec_driver_sql(f'DROP TABLE "{child}_before_0007"')
