"""Registry (control plane): what exists in the store and how it was made.

SQLAlchemy models of the registry's tables; the schema is created and changed only by the
Alembic migrations in ``migrations/``. Add columns at the end of a table, in a new migration.
Child rows (a run's folds, a feature set's shards) reference their entry by foreign key; the
embedded DuckDB registry does not cascade deletes, so writers delete children first.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

RunStatus = ("running", "complete", "failed")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: sa.JSON, list[Any]: sa.JSON}


def _id(name: str) -> Mapped[int]:
    seq = sa.Sequence(f"{name}_id_seq")
    return mapped_column(sa.Integer, seq, server_default=seq.next_value(), primary_key=True)


class Lifecycle:
    """The columns of every entry that a job registers and completes (:mod:`.lifecycle`):
    its status, the lake snapshot that completed it, the code that made it, and who holds it
    while it runs (host, pid and scheduler job, so a scheduler can be asked about it)."""

    status: Mapped[str] = mapped_column(sa.String(16), default="running")
    snapshot_id: Mapped[int | None]
    code_version: Mapped[str] = mapped_column(sa.String(128))
    pid: Mapped[int | None]
    host: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    job: Mapped[str | None] = mapped_column(sa.String(64))  # scheduler job of the holder


class Unit:
    """The columns of every unit that several processes share in one entry (a run's fold, a
    feature set's shard: :mod:`.units`): its status, the lake snapshot that finished it, and
    who holds it while it runs, as :class:`Lifecycle` has them for the entry, so that taking
    over a dead holder's unit reads the same columns as taking over its entry."""

    status: Mapped[str] = mapped_column(sa.String(16))
    snapshot_id: Mapped[int | None]
    pid: Mapped[int | None]
    host: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    job: Mapped[str | None] = mapped_column(sa.String(64))  # scheduler job of the holder


class Ingest(Lifecycle, Base):
    """One ingestion of corpus files (a batch of clip versions in the lake)."""

    __tablename__ = "ingests"
    id: Mapped[int] = _id("ingests")
    dataset: Mapped[str] = mapped_column(sa.String(64))
    sources: Mapped[list[Any]] = mapped_column(sa.JSON)
    n_files: Mapped[int] = mapped_column(default=0)
    n_added: Mapped[int] = mapped_column(default=0)


class FoldAssignment(Base):
    """Which fold tests which actor, per scheme; written once when a scheme is first used."""

    __tablename__ = "fold_assignments"
    scheme: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    actor: Mapped[int] = mapped_column(primary_key=True)
    fold: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeatureSet(Lifecycle, Base):
    """A versioned set of features (embeddings, AU frames, imported vectors) in the lake.

    ``encoder``, ``layer``, ``pooling`` and ``family`` say which encoder layer a set holds
    (:class:`mmemo.features.sets.EncoderLayer`): a set of a family is named
    ``family/layer=L``, and what needs its family or layer reads these columns, not the name.
    """

    __tablename__ = "feature_sets"
    __table_args__ = (sa.UniqueConstraint("name", "version"),)
    id: Mapped[int] = _id("feature_sets")
    name: Mapped[str] = mapped_column(sa.String(255))
    version: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(32))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    inputs: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    dim: Mapped[int | None]
    n_clips: Mapped[int | None]
    encoder: Mapped[str | None] = mapped_column(sa.Text)  # model id or folder (embeddings)
    layer: Mapped[str | None] = mapped_column(sa.String(64))  # conv, 1, ...
    pooling: Mapped[str | None] = mapped_column(sa.String(16))  # mean, mean+std
    family: Mapped[str | None] = mapped_column(sa.String(255))  # NAME of NAME/layer=L


class Run(Lifecycle, Base):
    """A training, fusion or import job and everything needed to reproduce it."""

    __tablename__ = "runs"
    id: Mapped[int] = _id("runs")
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    model: Mapped[str] = mapped_column(sa.String(64))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    inputs: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    scheme: Mapped[str] = mapped_column(sa.String(64))
    clips: Mapped[str] = mapped_column(sa.Text)
    seed: Mapped[int | None]
    classes: Mapped[list[Any]] = mapped_column(sa.JSON)
    dataset: Mapped[str | None] = mapped_column(sa.String(64))  # the vocabulary of `classes`
    score_kind: Mapped[str] = mapped_column(sa.String(16))
    n_clips: Mapped[int | None]
    fold_seconds: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    wall_seconds: Mapped[float | None]
    artefacts: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    versions: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    device: Mapped[str] = mapped_column(sa.String(64))
    error: Mapped[str | None] = mapped_column(sa.Text)


class LakeMigration(Base):
    """Lake DDL files (``sql/lake/*.sql``) applied to this store's lake."""

    __tablename__ = "lake_migrations"
    name: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoreSetting(Base):
    """Facts about the store kept with its registry: where a shared registry's lake catalog
    and data live (so ``mmemo connect`` needs only the registry URL)."""

    __tablename__ = "store_settings"
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)


class FeatureSetShard(Unit, Base):
    """A shard (``--shard I/N``) of a feature set: claimed while it runs, complete once its
    slice is committed."""

    __tablename__ = "feature_set_shards"
    feature_set_id: Mapped[int] = mapped_column(sa.ForeignKey("feature_sets.id"), primary_key=True)
    shard: Mapped[int] = mapped_column(primary_key=True)
    shards: Mapped[int]


class RunFold(Unit, Base):
    """A fold of a run trained by one of several processes (``--folds``): claimed while it
    trains, complete once its lake rows are committed."""

    __tablename__ = "run_folds"
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("runs.id"), primary_key=True)
    fold: Mapped[int] = mapped_column(primary_key=True)
    seconds: Mapped[float | None]
    wall_seconds: Mapped[float | None]
    classes: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    score_kind: Mapped[str | None] = mapped_column(sa.String(16))
    artefact: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


class SchedulerJob(Base):
    """A job array that ``--slurm`` submitted: the mmemo command each task runs (with
    ``{task}`` and ``{tasks}`` in place of its slice) and every Slurm submission made for it,
    ``{"job": slurm job id, "tasks": [...]}`` (the first, then each ``mmemo jobs resubmit``)."""

    __tablename__ = "scheduler_jobs"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # the first Slurm job id
    scheduler: Mapped[str] = mapped_column(sa.String(16), default="slurm")
    command: Mapped[list[Any]] = mapped_column(sa.JSON)
    tasks: Mapped[int]
    unit: Mapped[str] = mapped_column(sa.String(16))  # shard, fold or config
    entry: Mapped[str | None] = mapped_column(sa.String(255))  # feature set or run name
    options: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    submissions: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    code_version: Mapped[str] = mapped_column(sa.String(128))
    host: Mapped[str | None] = mapped_column(sa.String(255))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)


class SchedulerTask(Base):
    """One task of a submitted job array: written by the task itself when it starts and
    when it ends (``complete``, ``failed`` or ``cancelled``), under its latest Slurm id."""

    __tablename__ = "scheduler_tasks"
    job_id: Mapped[str] = mapped_column(sa.ForeignKey("scheduler_jobs.id"), primary_key=True)
    task: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    slurm_job: Mapped[str | None] = mapped_column(sa.String(64))
    attempts: Mapped[int] = mapped_column(default=1)
    pid: Mapped[int | None]
    host: Mapped[str | None] = mapped_column(sa.String(255))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(sa.Text)


class Dataset(Base):
    """An ingested dataset and its class vocabulary: ``labels`` is the ordered list
    ``[{"code": 1, "label": "neutral"}, ...]`` (:class:`mmemo.store.vocabulary.Vocabulary`).

    The dataset's ingest writes it once, before its first clips; the views, fusion, metrics
    and reports read the class order and names from here, so that a corpus's labels are its
    data, not a constant of the code.
    """

    __tablename__ = "datasets"
    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    labels: Mapped[list[Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
