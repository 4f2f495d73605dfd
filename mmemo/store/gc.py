"""``mmemo gc``: remove what interrupted jobs left behind."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from mmemo.provenance import pid_alive
from mmemo.store.entries import MODELS, discard
from mmemo.store.registry import Run
from mmemo.store.store import Store


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

    Entries still being written by a live process are left alone.
    """
    result = GcResult()
    with store.session(write=True) as s:
        for kind, model in MODELS.items():
            with s.orm() as orm:
                stale = [
                    e.id
                    for e in orm.scalars(sa.select(model).where(model.status != "complete"))
                    if e.status == "failed" or not pid_alive(e.pid, e.host)
                ]
            result.lake_rows += discard(s, kind, stale)  # type: ignore[arg-type]
            result.entries[kind] = stale
        with s.orm() as orm:
            known = {f"run-{i}" for i in orm.scalars(sa.select(Run.id))}
    for name in sorted(store.artefacts.run_dirs() - known):
        store.artefacts.remove(name)
        result.model_dirs.append(name)
    return result
