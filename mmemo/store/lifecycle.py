"""The life of a job in the store: one protocol for ingests, runs and feature sets, whether one
process makes the whole entry or several make its units (a run's ``--folds``, a feature set's
``--shard`` slices; their claims live in :mod:`mmemo.store.units`).

1. **Register or join** an entry (status ``running``, with its :class:`~mmemo.provenance.Holder`:
   host, pid and scheduler job). A second process making the same entry joins it; an entry left
   by a holder that is gone is taken over (:func:`take_over`), one left by a live holder is
   refused with a message naming it. A name registered by another process between a job's
   check and its own registration (:func:`staged`) is refused the same way
   (:func:`name_taken`), never as the registry's unique-key error.
2. **Claim units** of work (:func:`~mmemo.store.units.claim_units`): a unit is claimed once;
   a dead holder's unit is taken over (its stale lake rows go), a finished one is skipped.
3. **Append** lake rows tagged with the entry id, in one lake transaction labelled with a commit
   message (:func:`commit_tables`).
4. **Complete** the units (:func:`~mmemo.store.units.finish_units`) and then the entry
   (:func:`complete`) with the lake snapshot id: views show rows of complete entries only, so
   nothing is half-visible.
5. **Release** on failure: :func:`staged` discards a one-process entry and its rows;
   :func:`~mmemo.store.units.release_units` gives back this process's units (and the entry, if
   nothing else of it is left). ``mmemo gc`` (store/gc.py) applies the same release to holders
   that are gone.

Races between processes on a shared registry are settled by the registry: conditional updates
(:func:`missed`) and unique keys, retried by :func:`join_or_create`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import duckdb
import pyarrow as pa
import sqlalchemy as sa

from mmemo.errors import InputError, StoreError
from mmemo.provenance import Holder, code_version
from mmemo.sqltext import ident, placeholders, qualified
from mmemo.store.retry import GiveUp, retrying
from mmemo.store.schema import FeatureSet, FeatureSetShard, Ingest, Run, RunFold, utcnow
from mmemo.store.session import Session, append_rows
from mmemo.store.store import Store

T = TypeVar("T")
EntryKind = Literal["ingests", "runs", "feature_sets"]
#: Registry model of each kind of entry.
ENTRY_MODELS = {"ingests": Ingest, "runs": Run, "feature_sets": FeatureSet}
#: How messages name an entry of each kind.
ENTRY_NOUNS = {"ingests": "ingest", "runs": "run", "feature_sets": "feature set"}
#: Lake tables holding each kind's rows, and the column that tags them with the entry id.
LAKE_TAGS: dict[str, tuple[tuple[str, str], ...]] = {
    "ingests": (("clips", "ingest_id"), ("clip_ratings", "ingest_id")),
    "runs": (("posteriors", "run_id"), ("attention", "run_id")),
    "feature_sets": (
        ("clip_vectors", "feature_set_id"),
        ("clip_embeddings", "feature_set_id"),
        ("frame_vectors", "feature_set_id"),
        ("au_frames", "feature_set_id"),
    ),
}


@dataclass(frozen=True)
class UnitKind:
    """Units of work of one kind of entry: their registry model, the column naming the entry
    and the column naming the unit (and the lake column holding it, if rows carry it)."""

    model: type
    entry_column: str
    unit_column: str
    lake_column: str | None


#: Units of work that several processes share: a run's folds, a feature set's shards.
UNITS: dict[str, UnitKind] = {
    "runs": UnitKind(RunFold, "run_id", "fold", "fold"),
    "feature_sets": UnitKind(FeatureSetShard, "feature_set_id", "shard", None),
}


# -- registry races --------------------------------------------------------------------------


def missed(result: sa.CursorResult, expected: int = 1) -> bool:
    """Whether a conditional UPDATE or DELETE changed fewer rows than ``expected`` because
    another process changed them first. A local (DuckDB) registry reports no row counts, but
    its writers hold the store one at a time, so nothing can get in between there."""
    return 0 <= result.rowcount < expected


def join_or_create(work: Callable[[], T], attempts: int = 3) -> T:
    """Run ``work`` again when another process inserted the same unique registry row first
    (two shards or hosts starting one feature set or run on a shared registry): the retry
    finds that row and joins it."""
    try:
        return retrying(
            work, when=lambda e: isinstance(e, sa.exc.IntegrityError), attempts=attempts, delay=0
        )
    except GiveUp as exc:
        raise exc.last from None


def take_over(
    orm: Any, row: Any, what: str, *, join_live: bool = False, doing: str = "made"
) -> bool:
    """Make this process the holder of ``row`` (an entry or a unit) if its holder is gone.

    Returns:
        True when the row was taken over, False when this process holds it already or
        (``join_live``) its live holder is joined rather than replaced.

    Raises:
        InputError: a live holder (unless ``join_live``), or another process took it first.
    """
    me, held = Holder.current(), Holder.of(row)
    if held.same_process(me):
        return False
    if held.alive():
        if join_live:
            return False
        raise InputError(
            f"{what} is being {doing} by {held} "
            f"(if that process is gone, run `mmemo gc` on {held.host} or wait)"
        )
    model = type(row)
    keys = [getattr(model, c.name) == getattr(row, c.name) for c in sa.inspect(model).primary_key]
    taken = orm.execute(
        sa.update(model)
        .where(*keys, model.pid == held.pid, model.host == held.host)
        .values(**me.columns())
        .execution_options(synchronize_session=False)
    )
    if missed(taken):
        raise InputError(f"{what} was just taken over by another process")
    return True


# -- lake rows -------------------------------------------------------------------------------


def tag_tables(tables: dict[str, pa.Table], column: str, entry_id: int) -> dict[str, pa.Table]:
    """The tables with a column tagging every row with the entry that writes it."""
    return {
        name: rows.append_column(column, pa.array([entry_id] * rows.num_rows, pa.int32()))
        for name, rows in tables.items()
    }


def commit_tables(session: Session, message: str, tables: dict[str, pa.Table]) -> int:
    """Append Arrow tables to lake tables (by name) in one transaction labelled ``message``;
    return the snapshot id."""

    def write(con: duckdb.DuckDBPyConnection) -> None:
        for name, rows in tables.items():
            append_rows(con, name, rows)

    return session.commit_lake(message, write)


def delete_tagged(session: Session, kind: EntryKind, where: str, params: list, note: str) -> int:
    """Delete the lake rows of ``kind`` matching ``where`` (over its tag column, written
    ``{tag}``); return how many there were."""
    existing = set(session.lake_tables())
    tagged = {t: where.format(tag=ident(c)) for t, c in LAKE_TAGS[kind] if t in existing}
    counts = {
        t: session.con.execute(
            f"SELECT count(*) FROM {qualified('lake', t)} WHERE {cond}", params
        ).fetchone()[0]
        for t, cond in tagged.items()
    }
    present = [t for t, n in counts.items() if n]
    if present:

        def delete(con: duckdb.DuckDBPyConnection) -> None:
            for t in present:
                con.execute(f"DELETE FROM {qualified('lake', t)} WHERE {tagged[t]}", params)

        session.commit_lake(note, delete)
    return sum(counts.values())


# -- entries ---------------------------------------------------------------------------------


def name_taken(kind: EntryKind, entry: Any, differ: list[str] | None = None) -> InputError:
    """Why a job cannot make an entry under the name of ``entry``: it is complete (made
    ``differ``-ently, if given), being made by a live process, or left by one that is gone.
    The one wording of a taken name, whether a job finds it before it starts or loses the race
    to register it."""
    what, held = f"{ENTRY_NOUNS[kind]} '{entry.name}'", Holder.of(entry)
    if entry.status == "running" and not held.alive():
        return InputError(
            f"{what} was left unfinished by an interrupted job ({held}); remove it with `mmemo gc`"
        )
    if entry.status == "running":
        return InputError(f"{what} is being made by {held}; choose another --name")
    other = f" with other {', '.join(differ)}" if differ else ""
    return InputError(f"{what} already exists ({entry.status}){other}; choose another --name")


def register(store: Store, kind: EntryKind, /, **fields: Any) -> int:
    """Add a ``running`` entry held by this process; return its id.

    Two processes may both find a name free and then register it: the registry's unique key
    lets one in, and the other gets :func:`name_taken` (retried, should the winner's entry be
    gone again by the time it is looked up).

    Raises:
        InputError: the entry's name was taken meanwhile.
    """

    def attempt() -> int:
        with store.session(write=True) as s, s.orm() as orm:
            entry = new_entry(kind, **fields)
            orm.add(entry)
            try:
                orm.commit()
            except sa.exc.IntegrityError:
                orm.rollback()
                model = ENTRY_MODELS[kind]
                keys = [getattr(model, k) == fields[k] for k in ("name", "version") if k in fields]
                winner = orm.scalars(sa.select(model).where(*keys)).first() if keys else None
                if winner is None:
                    raise  # gone again: join_or_create tries once more
                raise name_taken(kind, winner) from None
            return entry.id

    return join_or_create(attempt)


def new_entry(entry_kind: EntryKind, /, **fields: Any) -> Any:
    """A ``running`` registry entry held by this process (not yet added to a session)."""
    return ENTRY_MODELS[entry_kind](
        status="running", code_version=code_version(), **Holder.current().columns(), **fields
    )


def complete(
    session: Session,
    kind: EntryKind,
    entry_id: int,
    snapshot_id: int,
    *,
    also: list[Any] | None = None,
    **values: Any,
) -> None:
    """Mark an entry complete at ``snapshot_id`` (after its lake rows are committed), adding
    the registry rows ``also`` in the same transaction."""
    model = ENTRY_MODELS[kind]
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
    """Delete unfinished entries, their units and every lake row tagged with them; return the
    lake rows removed."""
    if not entry_ids:
        return 0
    ids = ", ".join(map(str, entry_ids))
    removed = delete_tagged(
        session,
        kind,
        f"{{tag}} IN ({placeholders(len(entry_ids))})",
        entry_ids,
        f"gc: discard {kind} {ids}",
    )
    model = ENTRY_MODELS[kind]
    with session.orm() as orm:
        unit = UNITS.get(kind)
        if unit is not None:  # children first: the registry's foreign keys do not cascade
            orm.execute(
                sa.delete(unit.model).where(getattr(unit.model, unit.entry_column).in_(entry_ids))
            )
            orm.commit()  # DuckDB checks a parent's delete against the transaction's start
        orm.execute(sa.delete(model).where(model.id.in_(entry_ids)))
        orm.commit()
    return removed


class Staged:
    """An entry being made by one process; see :func:`staged`."""

    def __init__(self, store: Store, kind: EntryKind, entry_id: int) -> None:
        self.store = store
        self.kind = kind
        self.id = entry_id
        self.snapshot_id: int | None = None

    def finish(
        self,
        message: str,
        tables: dict[str, pa.Table],
        *,
        also: Callable[[Session], list[Any]] | None = None,
        **values: Any,
    ) -> int:
        """Commit the entry's lake rows (one transaction) and mark it complete, together with
        the registry rows ``also(session)`` returns."""
        with self.store.session(write=True) as s:
            snapshot = commit_tables(s, message, tables)
            extra = also(s) if also is not None else []
            complete(s, self.kind, self.id, snapshot, also=extra, **values)
            self.snapshot_id = snapshot
        return snapshot


@contextmanager
def staged(store: Store, kind: EntryKind, /, **fields: Any) -> Iterator[Staged]:
    """Create a ``running`` entry (:func:`register`); on any error (Ctrl-C included) remove it
    and its rows.

    Raises:
        InputError: the name was taken meanwhile (:func:`register`); else what the body
            raised, after the store is back as it was.
    """
    entry_id = register(store, kind, **fields)
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
