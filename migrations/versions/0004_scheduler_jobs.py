"""Job arrays submitted to a batch scheduler (``--slurm``) and the outcome of each task.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduler_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("scheduler", sa.String(16), nullable=False),
        sa.Column("command", sa.JSON, nullable=False),
        sa.Column("tasks", sa.Integer, nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("entry", sa.String(255)),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("submissions", sa.JSON, nullable=False),
        sa.Column("code_version", sa.String(128), nullable=False),
        sa.Column("host", sa.String(255)),
        sa.Column("submitted_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "scheduler_tasks",
        sa.Column("job_id", sa.String(64), sa.ForeignKey("scheduler_jobs.id"), primary_key=True),
        sa.Column("task", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("slurm_job", sa.String(64)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("pid", sa.Integer),
        sa.Column("host", sa.String(255)),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("error", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("scheduler_tasks")
    op.drop_table("scheduler_jobs")
