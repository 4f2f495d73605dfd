"""``mmemo gc``: remove what interrupted jobs left behind (through the job lifecycle of
store/lifecycle.py, as a failing job would have), and the lake data files no snapshot
references (what a writer killed part-way, or one whose disk filled up, left on disk).

The unreferenced files go first: gc only deletes, but the registry and the catalog need some
room to record even a deletion, and on a full disk the partial file of the write that filled
it is where that room is. Which files may go while other writers work is decided by
:meth:`~mmemo.store.session.Session.remove_orphan_files`: on a local store gc holds the store,
so every unreferenced file; on a shared catalog, only those older than the lake's
``delete_older_than`` (2 days unless set).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from mmemo.provenance import Holder
from mmemo.store.backends import run_folder
from mmemo.store.lifecycle import (
    ENTRY_MODELS,
    UNITS,
    discard,
)
from mmemo.store.schema import Run
from mmemo.store.store import Session, Store
from mmemo.store.units import (
    abandoned_units,
    release_units,
    shared_entries,
)


@dataclass
class GcResult:
    entries: dict[str, list[int]] = field(default_factory=dict)
    lake_rows: int = 0
    model_dirs: list[str] = field(default_factory=list)
    lake_files: list[str] = field(default_factory=list)

    def describe(self) -> str:
        removed = [f"{len(ids)} unfinished {kind}" for kind, ids in self.entries.items() if ids]
        if self.lake_rows:
            removed.append(f"{self.lake_rows} hidden lake row(s)")
        if self.lake_files:
            removed.append(f"{len(self.lake_files)} unreferenced lake file(s)")
        if self.model_dirs:
            removed.append(f"{len(self.model_dirs)} orphan model folder(s)")
        return "removed " + ", ".join(removed) if removed else "nothing to clean"


def collect_garbage(store: Store) -> GcResult:
    """Discard unfinished entries whose process is gone, their lake rows and model files, and
    lake data files that no snapshot references (first: see the module docstring).

    Entries still being written by a live process are left alone, and so are entries made by
    several processes (``--shard``, ``--folds``) that have a finished or live part: those
    parts stay, to be completed by running the missing parts; only folds and shards claimed by
    a process that is gone are released. Whether a holder is gone is asked of the scheduler
    for one in a scheduler job (:meth:`~mmemo.provenance.Holder.alive`).
    """
    result = GcResult()
    folders = store.artefacts.run_dirs()  # before the runs: a run registered after this
    with store.session(write=True) as s:  # has no folder in the list yet
        result.lake_files = s.remove_orphan_files()
        result.lake_rows += _release_dead_units(s)
        for kind, model in ENTRY_MODELS.items():
            shared = shared_entries(s, kind)  # type: ignore[arg-type]
            with s.orm() as orm:
                stale = [
                    e.id
                    for e in orm.scalars(sa.select(model).where(model.status != "complete"))
                    if (e.status == "failed" or not Holder.of(e).alive()) and e.id not in shared
                ]
            result.lake_rows += discard(s, kind, stale)  # type: ignore[arg-type]
            result.entries[kind] = stale
        with s.orm() as orm:
            known = {run_folder(i) for i in orm.scalars(sa.select(Run.id))}
    for name in sorted(folders - known):
        store.artefacts.remove(name)
        result.model_dirs.append(name)
    return result


def _release_dead_units(session: Session) -> int:
    """Release the units of multi-process entries (folds of runs, shards of feature sets)
    claimed by processes that are gone (unless a new process claimed them meanwhile); return
    the lake rows removed. A released fold's rows go; a shard's committed clips stay for the
    next claim to resume from. The entry itself stays until gc finds it without units and
    without a live holder (then it goes with all its rows)."""
    return sum(
        release_units(session, kind, entry_id, [unit], holder, drop_empty_entry=False)
        for kind in UNITS
        for entry_id, unit, holder in abandoned_units(session, kind)  # type: ignore[arg-type]
    )
