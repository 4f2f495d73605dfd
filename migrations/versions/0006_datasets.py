"""The vocabulary belongs to the dataset: a registry of datasets with their ordered labels.

Until now RAVDESS's eight class labels were a constant of the store layer, and the offset
between an emotion code and its column (``code - 1``) was re-derived wherever scores were
read. ``datasets`` records, per ingested dataset, its class vocabulary: ``labels`` is the
ordered list ``[{"code": 1, "label": "neutral"}, ...]``. The ingest of a dataset writes it
before its first clips; the views (``emotions``, ``emotion_label``), fusion, metrics and
reports read it from here.

A store that already holds RAVDESS clips (an ``ingests`` row of dataset ``ravdess``) gets
RAVDESS's record here, with the labels written out below rather than imported: a migration
records what the data meant when it ran, and keeps doing so whatever the code says later.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: RAVDESS's classes in the corpus's order (Livingstone & Russo, 2018), as
#: ``mmemo.corpora.ravdess.EMOTIONS`` / ``EMOTION_CODES`` give them at this revision.
_RAVDESS = [
    {"code": code, "label": label}
    for code, label in enumerate(
        ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"),
        start=1,
    )
]


def upgrade() -> None:
    datasets = op.create_table(
        "datasets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    bind = op.get_bind()
    ingests = sa.table("ingests", sa.column("dataset", sa.String))
    held = bind.execute(
        sa.select(sa.literal(1)).select_from(ingests).where(ingests.c.dataset == "ravdess").limit(1)
    ).first()
    if held is not None:
        bind.execute(
            datasets.insert().values(
                name="ravdess",
                labels=_RAVDESS,
                created_at=datetime.now(timezone.utc).replace(tzinfo=None),  # as the ORM's
            )
        )


def downgrade() -> None:
    op.drop_table("datasets")
