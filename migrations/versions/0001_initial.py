"""Initial registry: ingests, fold assignments, feature sets, runs, lake migrations.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id(table: str) -> sa.Column:
    seq = sa.Sequence(f"{table}_id_seq")
    return sa.Column("id", sa.Integer, seq, server_default=seq.next_value(), primary_key=True)


def _provenance() -> list[sa.Column]:
    return [
        sa.Column("code_version", sa.String(128), nullable=False),
        sa.Column("pid", sa.Integer),
        sa.Column("host", sa.String(255)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
    ]


def upgrade() -> None:
    for table in ("ingests", "feature_sets", "runs"):
        op.execute(sa.schema.CreateSequence(sa.Sequence(f"{table}_id_seq")))
    op.create_table(
        "ingests",
        _id("ingests"),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("sources", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("n_files", sa.Integer, nullable=False),
        sa.Column("n_added", sa.Integer, nullable=False),
        sa.Column("snapshot_id", sa.Integer),
        *_provenance(),
    )
    op.create_table(
        "fold_assignments",
        sa.Column("scheme", sa.String(64), primary_key=True),
        sa.Column("actor", sa.Integer, primary_key=True),
        sa.Column("fold", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "feature_sets",
        _id("feature_sets"),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dim", sa.Integer),
        sa.Column("n_clips", sa.Integer),
        sa.Column("snapshot_id", sa.Integer),
        *_provenance(),
        sa.UniqueConstraint("name", "version"),
    )
    op.create_table(
        "runs",
        _id("runs"),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("scheme", sa.String(64), nullable=False),
        sa.Column("clips", sa.Text, nullable=False),
        sa.Column("seed", sa.Integer),
        sa.Column("classes", sa.JSON, nullable=False),
        sa.Column("score_kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("snapshot_id", sa.Integer),
        sa.Column("n_clips", sa.Integer),
        sa.Column("fold_seconds", sa.JSON, nullable=False),
        sa.Column("wall_seconds", sa.Float),
        sa.Column("artefacts", sa.JSON, nullable=False),
        sa.Column("versions", sa.JSON, nullable=False),
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("error", sa.Text),
        *_provenance(),
    )
    op.create_table(
        "lake_migrations",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("applied_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("lake_migrations", "runs", "feature_sets", "fold_assignments", "ingests"):
        op.drop_table(table)
    for table in ("ingests", "feature_sets", "runs"):
        op.execute(sa.schema.DropSequence(sa.Sequence(f"{table}_id_seq")))
