"""Runs whose folds are trained by several processes (``--folds 0,1`` on one host, ``--folds
2,3,4`` on another): each writes its own folds' posteriors to the same run.

The first process registers the run (status ``running``); every process claims its folds in
``run_folds`` (a fold is claimed once: a second claim is refused while its holder lives), trains
them, commits their lake rows in one snapshot and marks them complete. The process that
completes the last fold completes the run, so views show it only once every fold is there.
A failure releases only the failing process's folds; the others' work stays.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from mmemo.corpora.folds import TRAIN_ONLY
from mmemo.errors import InputError
from mmemo.features.loading import feature_ref
from mmemo.jobs.cv import CVData, unrecorded_folds
from mmemo.jobs.fold_training import (
    FitFold,
    check_folds,
    posteriors,
    save_artefacts,
    train_folds,
)
from mmemo.jobs.run_spec import Execution, RunInfo, RunSpec
from mmemo.models.base import FoldResult
from mmemo.progress import Progress
from mmemo.provenance import Holder
from mmemo.store.audits import audit_run
from mmemo.store.lifecycle import (
    commit_tables,
    complete,
    join_or_create,
    name_taken,
    new_entry,
    take_over,
)
from mmemo.store.schema import Run, RunFold
from mmemo.store.store import Session, Store
from mmemo.store.units import (
    claim_units,
    delete_unit_rows,
    finish_units,
    finished_units,
    release_units,
    units_of,
)
from mmemo.store.vocabulary import record_dataset

#: Fields of a run that every process of it must agree on.
SAME = ("kind", "model", "params", "scheme", "clips", "dataset", "seed")


def claim_folds(
    store: Store, fields: dict, cv: CVData, folds: list[int], *, whole: bool = False
) -> tuple[int, list[int], list[int]]:
    """Register the run (or join it) and claim ``folds``; return (run id, claimed folds, folds
    already stored by another process). ``whole``: this process makes every fold (no
    ``--folds``), so a run of that name is not joined but refused, unless an interrupted
    process of the same command left it (:func:`_check_whole`)."""
    return join_or_create(lambda: _claim(store, fields, cv, folds, whole))


def _claim(
    store: Store, fields: dict, cv: CVData, folds: list[int], whole: bool
) -> tuple[int, list[int], list[int]]:
    me = Holder.current()
    with store.session(write=True) as s:
        if cv.label_map is not None:  # recorded as a dataset: its classes, and what they take
            mapping = cv.label_map
            record_dataset(s, mapping.dataset, mapping.vocabulary, mapping.record())
        new_folds = unrecorded_folds(s, cv.scheme, cv.new_folds)
        with s.orm() as orm:
            run = orm.scalars(sa.select(Run).where(Run.name == fields["name"])).first()
            if run is None:
                run = new_entry("runs", **fields)
                orm.add(run)
                if not whole:  # processes sharing a run must agree on them: recorded first
                    orm.add_all(new_folds)
                orm.flush()
            elif whole:
                _check_whole(orm, run, fields)
            else:
                _check_joinable(orm, run, fields, me)
            claims = claim_units(
                orm,
                "runs",
                run.id,
                folds,
                lambda fold: f"fold {fold} of run '{run.name}'",
                doing="trained",
            )
            orm.commit()
            run_id = run.id
        delete_unit_rows(s, "runs", run_id, claims.stale)
    return run_id, claims.claimed, claims.done


def _check_joinable(orm, run: Run, fields: dict, me: Holder) -> None:
    """Refuse to join a complete run, one made with other settings, or one a single process
    is making (without ``--folds``)."""
    if run.status == "complete":
        raise InputError(f"run '{run.name}' already exists (complete); choose another --name")
    differ = differing(run, {k: fields[k] for k in SAME})
    if differ:
        raise InputError(
            f"run '{run.name}' is being made with other {', '.join(differ)}; "
            "every process of a run must use the same command apart from --folds"
        )
    if not units_of(orm, "runs", run.id) and not Holder.of(run).same_process(me):
        raise InputError(
            f"run '{run.name}' is being made by {Holder.of(run)} without "
            "--folds (if that process is gone, remove it with `mmemo gc`)"
        )


def _check_whole(orm, run: Run, fields: dict) -> None:
    """A process making a whole run finds its name taken: it continues the run only where a
    process of the same command was interrupted while making it through the units (its
    finished folds stay; the others are claimed again, their stale rows deleted); otherwise
    the name is taken (:func:`~mmemo.store.lifecycle.name_taken`)."""
    differ = differing(run, {k: fields[k] for k in SAME})
    resumable = run.status == "running" and not differ and units_of(orm, "runs", run.id)
    if not resumable or Holder.of(run).alive():
        raise name_taken("runs", run, differ)
    take_over(orm, run, f"run '{run.name}'")


def identity(run: Run) -> dict[str, Any]:
    """What a stored run is, as a command asks for it: the fields of :data:`SAME` and the
    feature set it read, pinned to its version (``aus@1``; None without one). Not when or
    where it ran, nor the lake snapshot its clips were read at (every commit moves that on)."""
    features = (run.inputs or {}).get("features")
    return {
        **{k: getattr(run, k) for k in SAME},
        "features": feature_ref(features) if features else None,
    }


def spec_identity(spec: RunSpec, cv: CVData, features: str | None) -> dict[str, Any]:
    """:func:`identity` of the run that ``spec`` makes on ``cv`` from ``features`` (a pinned
    feature-set reference, or None)."""
    fields = spec.fields(cv)
    return {**{k: fields[k] for k in SAME}, "features": features}


def differing(run: Run, wanted: dict[str, Any]) -> list[str]:
    """The keys of ``wanted`` (:func:`identity` keys) on which ``run`` differs from it."""
    have = identity(run)
    return [k for k in wanted if _as_stored(have[k]) != _as_stored(wanted[k])]


def _as_stored(value: Any) -> Any:
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
    by_fold = {a["fold"]: a for a in artefacts}
    with store.session(write=True) as s:
        with s.orm() as orm:
            run = orm.get(Run, run_id)
            label = f"run {run_id}" + (f" '{run.name}'" if run is not None else "")
        snapshot = commit_tables(s, f"{label}: folds {', '.join(map(str, folds))}", tables)
        values = {
            fold: {
                "seconds": seconds[fold],
                "wall_seconds": time.perf_counter() - started,
                "classes": [int(c) for c in results[fold].classes],
                "score_kind": results[fold].kind,
                "artefact": by_fold.get(fold),
            }
            for fold in folds
        }
        finish_units(s, "runs", run_id, values, snapshot)  # released by gc meanwhile: raises
        return _complete_in(s, run_id, cv)


def _complete_if_done(store: Store, run_id: int, cv: CVData) -> int | None:
    with store.session(write=True) as s:
        return _complete_in(s, run_id, cv)


def _complete_in(s: Session, run_id: int, cv: CVData) -> int | None:
    """Complete the run when every fold of the scheme is stored; its snapshot, or None."""
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
        # the scheme's new actors, where a whole run did not record them when it claimed
        also=unrecorded_folds(s, cv.scheme, cv.new_folds),
        classes=first.classes,
        score_kind=first.score_kind,
        fold_seconds=[p.seconds for p in parts],
        wall_seconds=sum(p.wall_seconds or 0.0 for p in parts),
        artefacts=[p.artefact for p in parts if p.artefact],
        n_clips=int(np.isin(cv.folds, [*done, TRAIN_ONLY]).sum()),
    )
    return snapshot


def stored_folds(store: Store, name: str) -> list[int]:
    """Folds of run ``name`` that are stored (by any process)."""
    with store.session() as s, s.orm() as orm:
        run_id = orm.scalar(sa.select(Run.id).where(Run.name == name))
        return [] if run_id is None else finished_units(orm, "runs", run_id)


def release_folds(store: Store, run_id: int, folds: list[int]) -> None:
    """Undo this process's claim of ``folds`` (after a failure): their lake rows and claims go;
    the run goes too when no process has stored or claimed any other fold of it."""
    with store.session(write=True) as s:
        release_units(s, "runs", run_id, folds)


def execute_part(
    store: Store,
    spec: RunSpec,
    cv: CVData,
    fit_fold: FitFold,
    folds: list[int],
    progress: Progress,
    how: Execution,
    *,
    whole: bool = False,
) -> RunInfo | None:
    """Train and store ``folds`` of a run: every fold (``whole``: one process makes the run)
    or the part this process makes of a run other processes complete (module docstring)."""
    resumable, extra_rows, write, inner = how.resumable, how.extra_rows, how.write, how.inner
    check_folds(cv, folds)
    started = time.perf_counter()
    work = spec.work_dir(store.paths.models, cv) if resumable else None
    if not write:  # other ranks of a distributed job: train the folds rank 0 claimed
        claimed = _from_rank0(None)
        if isinstance(claimed, str):
            raise InputError(f"rank 0 could not claim --folds: {claimed}")
        train_folds(
            cv, claimed, fit_fold, progress, work, keep=False, inner=inner, seed=spec.seed or 0
        )
        return None
    fields = spec.fields(cv)
    try:
        run_id, claimed, _ = claim_folds(store, fields, cv, folds, whole=whole)
    except Exception as exc:
        _from_rank0(str(exc))  # so that the other ranks stop too
        raise
    _from_rank0(claimed)
    try:
        results, seconds = train_folds(
            cv, claimed, fit_fold, progress, work, inner=inner, seed=spec.seed or 0
        )
    except BaseException:
        with contextlib.suppress(Exception):  # the job's own error is the one to see
            release_folds(store, run_id, claimed)
        raise
    trained = {fold: (results[fold], s) for fold, s in zip(claimed, seconds, strict=True)}
    snapshot = store_trained(store, cv, run_id, trained, started=started, extra_rows=extra_rows)
    if work is not None and snapshot is not None:  # complete: no other task still uses it
        shutil.rmtree(work, ignore_errors=True)
    return _info(store, spec, cv, run_id, snapshot, trained, started)


def store_trained(
    store: Store,
    cv: CVData,
    run_id: int,
    trained: dict[int, tuple[FoldResult, float]],
    *,
    started: float,
    extra_rows: Callable[[int, dict[int, FoldResult]], dict[str, pa.Table]] | None = None,
) -> int | None:
    """Store the claimed folds this process trained (``trained``: fold → result and its
    seconds): their models, posteriors (and ``extra_rows``) in one lake snapshot, the folds
    marked complete and the run too once every fold is; on any failure the folds are
    released (their rows and files go). Returns the run's snapshot once complete."""
    results = {fold: result for fold, (result, _) in trained.items()}
    model_dir = store.artefacts.run_dir(run_id)
    try:
        artefacts = save_artefacts(model_dir, store.root, results)
        store.artefacts.publish(model_dir)
        tables = {"posteriors": posteriors(run_id, cv, results)} if results else {}
        if extra_rows is not None and results:
            tables.update(extra_rows(run_id, results))
        return store_folds(
            store,
            run_id,
            cv,
            results,
            {fold: spent for fold, (_, spent) in trained.items()},
            tables=tables,
            artefacts=artefacts,
            started=started,
        )
    except BaseException:
        with contextlib.suppress(Exception):  # the job's own error is the one to see
            release_folds(store, run_id, list(trained))
            if _exists(store, run_id):  # other processes' folds of it stay, with their files
                store.artefacts.remove_files(model_dir, [f"fold-{fold}.*" for fold in trained])
            else:
                store.artefacts.remove(model_dir.name)
        raise


def _exists(store: Store, run_id: int) -> bool:
    with store.session() as s, s.orm() as orm:
        return orm.get(Run, run_id) is not None


def _info(
    store: Store,
    spec: RunSpec,
    cv: CVData,
    run_id: int,
    snapshot: int | None,
    trained: dict[int, tuple[FoldResult, float]],
    started: float,
) -> RunInfo:
    """What this process made of the run; the leakage audits once the run is complete."""
    if snapshot is not None:  # this process completed the run
        audit_run(store, spec.name)  # leakage audits of sql/checks over the stored run
    waiting = sorted(set(cv.fold_ids) - set(stored_folds(store, spec.name)))
    n_clips = int(np.isin(cv.folds, [*trained, TRAIN_ONLY]).sum())
    seconds = [spent for _, spent in trained.values()]
    wall = time.perf_counter() - started
    return RunInfo(run_id, spec.name, snapshot, n_clips, seconds, wall, waiting=waiting)


def store_whole(
    store: Store,
    spec: RunSpec,
    cv: CVData,
    trained: dict[int, tuple[FoldResult, float]],
    *,
    started: float,
) -> RunInfo:
    """Store a run whose every fold was trained already (a grid's pool trains all its
    configurations' folds before any is stored) through the same units as
    :func:`execute_part`: register the run, claim its folds, store them."""
    fields = spec.fields(cv)
    run_id, claimed, _ = claim_folds(store, fields, cv, sorted(trained), whole=True)
    mine = {fold: trained[fold] for fold in claimed}
    snapshot = store_trained(store, cv, run_id, mine, started=started)
    return _info(store, spec, cv, run_id, snapshot, mine, started)


def _from_rank0(value):
    """Rank 0's ``value`` on every rank of a torchrun job (``value`` when not distributed)."""
    import sys

    if "torch" not in sys.modules:  # static jobs never start a process group
        return value
    from mmemo.models.torch_utils import broadcast_from_rank0

    return broadcast_from_rank0(value)
