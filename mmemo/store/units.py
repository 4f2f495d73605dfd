"""Units of work that several processes share in one entry: a run's folds (``--folds``), a
feature set's shards (``--shard``). Steps 2, 4 and 5 of the job lifecycle
(:mod:`mmemo.store.lifecycle`) for entries made by several processes: claim units
(:func:`claim_units`), complete them (:func:`finish_units`), give them back
(:func:`release_units`), and find the ones whose holder is gone (:func:`abandoned_units`,
for ``mmemo gc``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from mmemo.errors import StoreError
from mmemo.provenance import Holder
from mmemo.sqltext import ident, placeholders
from mmemo.store.lifecycle import (
    ENTRY_MODELS,
    UNITS,
    EntryKind,
    delete_tagged,
    missed,
    take_over,
)
from mmemo.store.schema import utcnow
from mmemo.store.session import Session


@dataclass
class Claims:
    """What :func:`claim_units` found: units now held by this process, units another process
    finished, and units taken over from a holder that is gone (their old rows must go)."""

    claimed: list[int] = field(default_factory=list)
    done: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)


def units_of(orm: Any, kind: EntryKind, entry_id: int) -> dict[int, Any]:
    """The unit rows of an entry, by unit number."""
    unit = UNITS[kind]
    rows = orm.scalars(
        sa.select(unit.model).where(getattr(unit.model, unit.entry_column) == entry_id)
    )
    return {getattr(r, unit.unit_column): r for r in rows}


def claim_units(
    orm: Any,
    kind: EntryKind,
    entry_id: int,
    units: list[int],
    what: Callable[[int], str],
    *,
    doing: str = "made",
    **fields: Any,
) -> Claims:
    """Claim ``units`` of an entry for this process (in the caller's ORM transaction).

    ``fields`` go into new unit rows; ``what(unit)`` names a unit in messages.

    Raises:
        InputError: a unit held by a live process.
    """
    spec = UNITS[kind]
    existing = units_of(orm, kind, entry_id)
    me = Holder.current()
    claims = Claims()
    for number in units:
        row = existing.get(number)
        if row is None:
            values = {spec.entry_column: entry_id, spec.unit_column: number, **fields}
            orm.add(spec.model(status="running", **me.columns(), **values))
        elif row.status == "complete":
            claims.done.append(number)
            continue
        elif take_over(orm, row, what(number), doing=doing) or Holder.of(row).same_process(me):
            claims.stale.append(number)  # an earlier, failed attempt's rows
        claims.claimed.append(number)
    return claims


def finish_units(
    session: Session,
    kind: EntryKind,
    entry_id: int,
    values: dict[int, dict[str, Any]],
    snapshot_id: int,
) -> None:
    """Mark this process's units complete at ``snapshot_id``, each with its own ``values``.

    Raises:
        StoreError: a unit this process no longer holds (released by ``mmemo gc``).
    """
    spec = UNITS[kind]
    me = Holder.current()
    with session.orm() as orm:
        for number, extra in values.items():
            done = orm.execute(
                sa.update(spec.model)
                .where(
                    getattr(spec.model, spec.entry_column) == entry_id,
                    getattr(spec.model, spec.unit_column) == number,
                    spec.model.pid == me.pid,
                    spec.model.host == me.host,
                )
                .values(status="complete", snapshot_id=snapshot_id, finished_at=utcnow(), **extra)
            )
            if missed(done):
                raise StoreError(
                    f"{kind} entry {entry_id}: this process no longer holds "
                    f"{spec.unit_column} {number}"
                )
        orm.commit()


def finished_units(orm: Any, kind: EntryKind, entry_id: int) -> list[int]:
    """Units of an entry that are complete (by any process), in order."""
    return sorted(n for n, row in units_of(orm, kind, entry_id).items() if row.status == "complete")


def delete_unit_rows(session: Session, kind: EntryKind, entry_id: int, units: list[int]) -> int:
    """Remove the lake rows of ``units`` of an entry (a released fold of a run made by several
    processes); return how many there were. Units whose rows are not told apart (feature-set
    shards commit per clip, and resume from what they committed) keep theirs."""
    spec = UNITS[kind]
    if spec.lake_column is None or not units:
        return 0
    where = f"{{tag}} = ? AND {ident(spec.lake_column)} IN ({placeholders(len(units))})"
    note = f"{kind} entry {entry_id}: release {spec.unit_column}(s) {', '.join(map(str, units))}"
    return delete_tagged(session, kind, where, [entry_id, *units], note)


def release_units(
    session: Session,
    kind: EntryKind,
    entry_id: int,
    units: list[int],
    holder: Holder | None = None,
    *,
    drop_empty_entry: bool = True,
) -> int:
    """Give back ``units`` held by ``holder`` (default: this process): their lake rows and
    claims go, and the entry too when no unit of it is left (``drop_empty_entry``). Units
    another process claimed meanwhile are left alone. Returns the lake rows removed."""
    spec = UNITS[kind]
    holder = holder or Holder.current()
    with session.orm() as orm:
        released = []
        for number in units:
            gone = orm.execute(
                sa.delete(spec.model).where(
                    getattr(spec.model, spec.entry_column) == entry_id,
                    getattr(spec.model, spec.unit_column) == number,
                    spec.model.pid == holder.pid,
                    spec.model.host == holder.host,
                )
            )
            if not missed(gone):
                released.append(number)
        # DuckDB refuses to delete a parent row in the transaction that deleted the children
        # pointing at it (its foreign keys see the transaction's start): commit them first
        orm.commit()
        if drop_empty_entry:
            model = ENTRY_MODELS[kind]
            others = (
                sa.select(getattr(spec.model, spec.unit_column))
                .where(getattr(spec.model, spec.entry_column) == entry_id)
                .exists()
            )
            orm.execute(
                sa.delete(model).where(model.id == entry_id, model.status != "complete", ~others)
            )
        orm.commit()
    return delete_unit_rows(session, kind, entry_id, released)


def abandoned_units(session: Session, kind: EntryKind) -> list[tuple[int, int, Holder]]:
    """(entry id, unit, holder) of unfinished units whose holder is gone."""
    spec = UNITS[kind]
    with session.orm() as orm:
        rows = list(orm.scalars(sa.select(spec.model).where(spec.model.status != "complete")))
    return [
        (getattr(r, spec.entry_column), getattr(r, spec.unit_column), Holder.of(r))
        for r in rows
        if not Holder.of(r).alive()
    ]


def shared_entries(session: Session, kind: EntryKind) -> set[int]:
    """Entries made by several processes (they have unit rows)."""
    spec = UNITS.get(kind)
    if spec is None:
        return set()
    with session.orm() as orm:
        return set(orm.scalars(sa.select(getattr(spec.model, spec.entry_column)).distinct()))
