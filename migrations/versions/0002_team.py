"""Team mode: store settings (where a shared registry's catalog and data live), the shards
of feature sets and the folds of runs made by several processes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "feature_set_shards",
        sa.Column("feature_set_id", sa.Integer, primary_key=True),
        sa.Column("shard", sa.Integer, primary_key=True),
        sa.Column("shards", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("snapshot_id", sa.Integer),
        sa.Column("pid", sa.Integer),
        sa.Column("host", sa.String(255)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
    )

    op.create_table(
        "run_folds",
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("fold", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("snapshot_id", sa.Integer),
        sa.Column("seconds", sa.Float),
        sa.Column("wall_seconds", sa.Float),
        sa.Column("classes", sa.JSON),
        sa.Column("score_kind", sa.String(16)),
        sa.Column("artefact", sa.JSON),
        sa.Column("pid", sa.Integer),
        sa.Column("host", sa.String(255)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
    )


def downgrade() -> None:
    op.drop_table("run_folds")
    op.drop_table("feature_set_shards")
    op.drop_table("store_settings")
