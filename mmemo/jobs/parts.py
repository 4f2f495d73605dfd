"""Runs whose folds are trained by several processes (``--folds 0,1`` on one host, ``--folds
2,3,4`` on another): each writes its own folds' posteriors to the same run.

The first process registers the run (status ``running``); every process claims its folds in
``run_folds`` (a fold is claimed once: a second claim is refused while its holder lives), trains
them, commits their lake rows in one snapshot and marks them complete. The process that
completes the last fold completes the run, so views show it only once every fold is there.
A failure releases only the failing process's folds; the others' work stays.
"""

from __future__ import annotations

import json
import time

import duckdb
import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from mmemo.errors import InputError, StoreError
from mmemo.jobs.cv import CVData, unrecorded_folds
from mmemo.models.base import FoldResult
from mmemo.provenance import code_version, pid_alive, process_identity
from mmemo.store.entries import complete, delete_fold_rows, missed, retry_on_integrity
from mmemo.store.schema import Run, RunFold, utcnow
from mmemo.store.store import Session, Store, append_rows

#: Fields of a run that every process of it must agree on.
SAME = ("kind", "model", "params", "scheme", "clips", "seed")


def claim_folds(
    store: Store, fields: dict, cv: CVData, folds: list[int]
) -> tuple[int, list[int], list[int]]:
    """Register the run (or join it) and claim ``folds``; return (run id, claimed folds, folds
    already stored by another process)."""
    return retry_on_integrity(lambda: _claim(store, fields, cv, folds))


def _claim(
    store: Store, fields: dict, cv: CVData, folds: list[int]
) -> tuple[int, list[int], list[int]]:
    pid, host = process_identity()
    with store.session(write=True) as s:
        new_folds = unrecorded_folds(s, cv.scheme, cv.new_folds)
        run_id, claimed, stored, stale = _claim_rows(s, fields, folds, new_folds, pid, host)
        if stale:
            delete_fold_rows(s, run_id, stale)
    return run_id, claimed, stored


def _claim_rows(
    s: Session, fields: dict, folds: list[int], new_folds: list, pid: int, host: str
) -> tuple[int, list[int], list[int], list[int]]:
    with s.orm() as orm:
        run = orm.scalars(sa.select(Run).where(Run.name == fields["name"])).first()
        if run is None:
            run = Run(status="running", code_version=code_version(), pid=pid, host=host, **fields)
            orm.add(run)
            orm.add_all(new_folds)
            orm.flush()
        elif run.status == "complete":
            raise InputError(f"run '{run.name}' already exists (complete); choose another --name")
        else:
            differ = [k for k in SAME if _as_stored(getattr(run, k)) != _as_stored(fields[k])]
            if differ:
                raise InputError(
                    f"run '{run.name}' is being made with other {', '.join(differ)}; "
                    "every process of a run must use the same command apart from --folds"
                )
        parts = {p.fold: p for p in orm.scalars(sa.select(RunFold).where(RunFold.run_id == run.id))}
        if run.pid != pid and not parts:  # a run of one process (staged), not of --folds parts
            raise InputError(
                f"run '{run.name}' is being made by process {run.pid} on {run.host} without "
                "--folds (if that process is gone, remove it with `mmemo gc`)"
            )
        claimed, stored, stale = [], [], []
        for fold in folds:
            part = parts.get(fold)
            if part is None:
                orm.add(RunFold(run_id=run.id, fold=fold, status="running", pid=pid, host=host))
            elif part.status == "complete":
                stored.append(fold)
                continue
            elif pid_alive(part.pid, part.host) and (part.pid, part.host) != (pid, host):
                raise InputError(
                    f"fold {fold} of run '{run.name}' is being trained by process {part.pid} "
                    f"on {part.host} (if that process is gone, run `mmemo gc` on {part.host})"
                )
            else:  # left by a process that is gone: take it over, unless another did
                taken = orm.execute(
                    sa.update(RunFold)
                    .where(
                        RunFold.run_id == run.id,
                        RunFold.fold == fold,
                        RunFold.pid == part.pid,
                        RunFold.host == part.host,
                    )
                    .values(pid=pid, host=host)
                    .execution_options(synchronize_session=False)
                )
                if missed(taken):
                    raise InputError(f"fold {fold} of run '{run.name}' was just taken over")
                stale.append(fold)
            claimed.append(fold)
        orm.commit()
        return run.id, claimed, stored, stale


def _as_stored(value):
    """A value as the registry gives it back (JSON turns tuples into lists)."""
    return json.loads(json.dumps(value))


def store_folds(
    store: Store,
    run_id: int,
    cv: CVData,
    results: dict[int, FoldResult],
    seconds: dict[int, float],
    *,
    tables: dict[str, pa.Table],
    artefacts: list[dict],
    started: float,
) -> int | None:
    """Commit this process's folds (one lake snapshot), mark them complete, and complete the
    run when every fold of the scheme is stored. Returns the run's snapshot once complete."""
    folds = sorted(results)
    if not folds:  # every fold asked for was stored already
        return _complete_if_done(store, run_id, cv)

    def write(con: duckdb.DuckDBPyConnection) -> None:
        for name, table in tables.items():
            append_rows(con, name, table)

    pid, host = process_identity()
    with store.session(write=True) as s:
        snapshot = s.commit_lake(f"run {run_id}: folds {', '.join(map(str, folds))}", write)
        by_fold = {a["fold"]: a for a in artefacts}
        with s.orm() as orm:
            for fold in folds:
                done = orm.execute(
                    sa.update(RunFold)
                    .where(
                        RunFold.run_id == run_id,
                        RunFold.fold == fold,
                        RunFold.pid == pid,
                        RunFold.host == host,
                    )
                    .values(
                        status="complete",
                        snapshot_id=snapshot,
                        seconds=seconds[fold],
                        wall_seconds=time.perf_counter() - started,
                        classes=[int(c) for c in results[fold].classes],
                        score_kind=results[fold].kind,
                        artefact=by_fold.get(fold),
                        finished_at=utcnow(),
                    )
                )
                if missed(done):  # released by `mmemo gc` meanwhile: undo (the caller does)
                    raise StoreError(f"run {run_id}: this process no longer holds fold {fold}")
            orm.commit()
    return _complete_if_done(store, run_id, cv)


def _complete_if_done(store: Store, run_id: int, cv: CVData) -> int | None:
    with store.session(write=True) as s:
        with s.orm() as orm:
            parts = list(orm.scalars(sa.select(RunFold).where(RunFold.run_id == run_id)))
        done = sorted(p.fold for p in parts if p.status == "complete")
        if done != sorted(cv.fold_ids):
            return None
        parts.sort(key=lambda p: p.fold)
        first = parts[0]
        for part in parts[1:]:
            if part.classes != first.classes or part.score_kind != first.score_kind:
                raise InputError(
                    f"fold {part.fold} produced classes {part.classes} ({part.score_kind}) but "
                    f"fold {first.fold} {first.classes} ({first.score_kind})"
                )
        snapshot = s.current_snapshot()
        complete(
            s,
            "runs",
            run_id,
            snapshot,
            classes=first.classes,
            score_kind=first.score_kind,
            fold_seconds=[p.seconds for p in parts],
            wall_seconds=sum(p.wall_seconds or 0.0 for p in parts),
            artefacts=[p.artefact for p in parts if p.artefact],
            n_clips=int(np.isin(cv.folds, done).sum()),
        )
    return snapshot


def stored_folds(store: Store, name: str) -> list[int]:
    """Folds of run ``name`` that are stored (by any process)."""
    with store.session() as s, s.orm() as orm:
        query = (
            sa.select(RunFold.fold)
            .join(Run, Run.id == RunFold.run_id)
            .where(Run.name == name, RunFold.status == "complete")
        )
        return sorted(orm.scalars(query))


def release_folds(store: Store, run_id: int, folds: list[int]) -> None:
    """Undo this process's claim of ``folds`` (after a failure): their lake rows and claims go;
    the run goes too when no process has stored or claimed any other fold of it."""
    pid, host = process_identity()
    with store.session(write=True) as s:
        delete_fold_rows(s, run_id, folds)
        with s.orm() as orm:
            orm.execute(
                sa.delete(RunFold).where(
                    RunFold.run_id == run_id,
                    RunFold.fold.in_(folds),
                    RunFold.pid == pid,
                    RunFold.host == host,
                )
            )
            others = sa.select(RunFold.fold).where(RunFold.run_id == run_id).exists()
            orm.execute(sa.delete(Run).where(Run.id == run_id, ~others))
            orm.commit()
