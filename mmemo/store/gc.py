"""``mmemo gc``: remove what interrupted jobs left behind."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from mmemo.provenance import pid_alive
from mmemo.store.entries import MODELS, delete_fold_rows, discard, missed
from mmemo.store.schema import FeatureSetShard, Run, RunFold
from mmemo.store.store import Session, Store


@dataclass
class GcResult:
    entries: dict[str, list[int]] = field(default_factory=dict)
    lake_rows: int = 0
    model_dirs: list[str] = field(default_factory=list)

    def describe(self) -> str:
        removed = [f"{len(ids)} unfinished {kind}" for kind, ids in self.entries.items() if ids]
        if self.lake_rows:
            removed.append(f"{self.lake_rows} hidden lake row(s)")
        if self.model_dirs:
            removed.append(f"{len(self.model_dirs)} orphan model folder(s)")
        return "removed " + ", ".join(removed) if removed else "nothing to clean"


def collect_garbage(store: Store) -> GcResult:
    """Discard unfinished entries whose process is gone, their lake rows and model files.

    Entries still being written by a live process are left alone, and so are entries made by
    several processes (``--shard``, ``--folds``): their finished parts stay, to be completed
    by running the missing parts; only a fold claimed by a process that is gone is released.
    """
    result = GcResult()
    folders = store.artefacts.run_dirs()  # before the runs: a run registered after this
    with store.session(write=True) as s:  # has no folder in the list yet
        result.lake_rows += _release_dead_folds(s)
        with s.orm() as orm:
            shared = {
                "runs": set(orm.scalars(sa.select(RunFold.run_id))),
                "feature_sets": set(orm.scalars(sa.select(FeatureSetShard.feature_set_id))),
            }
        for kind, model in MODELS.items():
            with s.orm() as orm:
                stale = [
                    e.id
                    for e in orm.scalars(sa.select(model).where(model.status != "complete"))
                    if (e.status == "failed" or not pid_alive(e.pid, e.host))
                    and e.id not in shared.get(kind, set())
                ]
            result.lake_rows += discard(s, kind, stale)  # type: ignore[arg-type]
            result.entries[kind] = stale
        with s.orm() as orm:
            known = {f"run-{i}" for i in orm.scalars(sa.select(Run.id))}
    for name in sorted(folders - known):
        store.artefacts.remove(name)
        result.model_dirs.append(name)
    return result


def _release_dead_folds(session: Session) -> int:
    """Release folds of multi-process runs claimed by processes that are gone; return the
    lake rows removed."""
    with session.orm() as orm:
        dead = [
            (p.run_id, p.fold, p.pid, p.host)
            for p in orm.scalars(sa.select(RunFold).where(RunFold.status != "complete"))
            if not pid_alive(p.pid, p.host)
        ]
    removed = 0
    for run_id, fold, pid, host in dead:
        with session.orm() as orm:
            released = orm.execute(
                sa.delete(RunFold).where(
                    RunFold.run_id == run_id,
                    RunFold.fold == fold,
                    RunFold.pid == pid,
                    RunFold.host == host,
                )
            )
            orm.commit()
        if not missed(released):  # unless a new process claimed the fold meanwhile
            removed += delete_fold_rows(session, run_id, [fold])
    return removed
