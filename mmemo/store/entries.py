"""Registry entries whose rows live in the lake: staging, completion, discarding.

The write protocol: (1) a registry entry is created with status ``running``; (2) its rows go
to the lake in one transaction, tagged with the entry's id, labelled with a commit message;
(3) the entry is marked ``complete`` with the lake snapshot id. Views show rows of complete
entries only, so a crash at any point leaves nothing half-visible; :func:`discard` (used on
failure and by ``mmemo gc``) removes what an unfinished entry left behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

import duckdb
import sqlalchemy as sa

from mmemo.errors import StoreError
from mmemo.provenance import code_version, process_identity
from mmemo.store.schema import FeatureSet, FeatureSetShard, Ingest, Run, utcnow
from mmemo.store.store import Session, Store

T = TypeVar("T")
EntryKind = Literal["ingests", "runs", "feature_sets"]
MODELS = {"ingests": Ingest, "runs": Run, "feature_sets": FeatureSet}
#: Lake tables holding each kind's rows, and the column that tags them with the entry id.
LAKE_TAGS: dict[str, tuple[tuple[str, str], ...]] = {
    "ingests": (("clips", "ingest_id"),),
    "runs": (("posteriors", "run_id"), ("attention", "run_id")),
    "feature_sets": (
        ("clip_vectors", "feature_set_id"),
        ("frame_vectors", "feature_set_id"),
        ("au_frames", "feature_set_id"),
    ),
}


def complete(
    session: Session,
    kind: EntryKind,
    entry_id: int,
    snapshot_id: int,
    *,
    also: list[Any] | None = None,
    **values,
) -> None:
    """Mark an entry complete at ``snapshot_id`` (after its lake rows are committed), adding
    the registry rows ``also`` in the same transaction."""
    model = MODELS[kind]
    with session.orm() as orm:
        done = orm.execute(
            sa.update(model)
            .where(model.id == entry_id)
            .values(status="complete", snapshot_id=snapshot_id, finished_at=utcnow(), **values)
        )
        if missed(done):
            raise StoreError(f"{kind} entry {entry_id} is gone (removed by `mmemo gc`?)")
        orm.add_all(also or [])
        orm.commit()


def discard(session: Session, kind: EntryKind, entry_ids: list[int]) -> int:
    """Delete unfinished entries and every lake row tagged with them; return lake rows removed."""
    if not entry_ids:
        return 0
    existing = set(session.lake_tables())
    removed = 0
    marks = ", ".join("?" * len(entry_ids))
    tagged = [(t, c) for t, c in LAKE_TAGS[kind] if t in existing]
    counts = [
        session.con.execute(
            f'SELECT count(*) FROM lake."{t}" WHERE "{c}" IN ({marks})', entry_ids
        ).fetchone()[0]
        for t, c in tagged
    ]
    if any(counts):

        def delete(con) -> None:
            for t, c in tagged:
                con.execute(f'DELETE FROM lake."{t}" WHERE "{c}" IN ({marks})', entry_ids)

        session.commit_lake(f"gc: discard {kind} {', '.join(map(str, entry_ids))}", delete)
        removed = sum(counts)
    model = MODELS[kind]
    with session.orm() as orm:
        if kind == "feature_sets":
            orm.execute(
                sa.delete(FeatureSetShard).where(FeatureSetShard.feature_set_id.in_(entry_ids))
            )
        orm.execute(sa.delete(model).where(model.id.in_(entry_ids)))
        orm.commit()
    return removed


def missed(result: sa.CursorResult, expected: int = 1) -> bool:
    """Whether a conditional UPDATE or DELETE changed fewer rows than ``expected`` because
    another process changed them first. A local (DuckDB) registry reports no row counts, but
    its writers hold the store one at a time, so nothing can get in between there."""
    return 0 <= result.rowcount < expected


def retry_on_integrity(work: Callable[[], T], attempts: int = 3) -> T:
    """Run ``work`` again when another process inserted the same unique registry row first
    (two shards or hosts starting one feature set or run on a shared registry): the retry
    finds that row and joins it."""
    for attempt in range(attempts):
        try:
            return work()
        except sa.exc.IntegrityError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def delete_fold_rows(session: Session, run_id: int, folds: list[int]) -> int:
    """Remove the lake rows of ``folds`` of run ``run_id`` (a released fold of a run made by
    several processes); return how many there were."""
    marks = ", ".join("?" * len(folds))
    existing = set(session.lake_tables())
    tagged = {t: f'"{c}" = ? AND fold IN ({marks})' for t, c in LAKE_TAGS["runs"] if t in existing}
    counts = {
        t: session.con.execute(
            f'SELECT count(*) FROM lake."{t}" WHERE {where}', [run_id, *folds]
        ).fetchone()[0]
        for t, where in tagged.items()
    }
    present = [t for t, n in counts.items() if n]
    if present:

        def delete(con: duckdb.DuckDBPyConnection) -> None:
            for t in present:
                con.execute(f'DELETE FROM lake."{t}" WHERE {tagged[t]}', [run_id, *folds])

        session.commit_lake(f"run {run_id}: release fold(s) {', '.join(map(str, folds))}", delete)
    return sum(counts.values())


class Staged:
    """An entry being made; see :func:`staged`."""

    def __init__(self, store: Store, kind: EntryKind, entry_id: int) -> None:
        self.store = store
        self.kind = kind
        self.id = entry_id
        self.snapshot_id: int | None = None

    def finish(
        self,
        message: str,
        write: Callable[[duckdb.DuckDBPyConnection], None],
        *,
        also: Callable[[Session], list[Any]] | None = None,
        **values,
    ) -> int:
        """Commit the entry's lake rows (one transaction) and mark it complete, together with
        the registry rows ``also(session)`` returns."""
        with self.store.session(write=True) as s:
            snapshot = s.commit_lake(message, write)
            extra = also(s) if also is not None else []
            complete(s, self.kind, self.id, snapshot, also=extra, **values)
            self.snapshot_id = snapshot
        return snapshot


@contextmanager
def staged(store: Store, kind: EntryKind, /, **fields: Any) -> Iterator[Staged]:
    """Create a ``running`` entry; on any error (Ctrl-C included) remove it and its rows.

    Raises what the body raised, after the store is back as it was.
    """
    pid, host = process_identity()
    model = MODELS[kind]
    with store.session(write=True) as s, s.orm() as orm:
        entry = model(status="running", code_version=code_version(), pid=pid, host=host, **fields)
        orm.add(entry)
        orm.commit()
        entry_id = entry.id
    stage = Staged(store, kind, entry_id)
    try:
        yield stage
    except BaseException:
        with store.session(write=True) as s:
            discard(s, kind, [entry_id])
        raise
    if stage.snapshot_id is None:
        with store.session(write=True) as s:
            discard(s, kind, [entry_id])
