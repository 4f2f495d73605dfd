"""The run machinery shared by every job: one model per fold, posteriors into the lake.

A job describes itself as a :class:`RunSpec`, hands over the clips and folds (:class:`CVData`)
and a function that trains on one fold; :func:`execute_run` does the rest: registry entry,
progress, timings, artefacts under ``models/``, posteriors of the train and test clips of
every fold in one lake commit, completion, and clean-up on any failure (Ctrl-C included).
Runs whose folds exist already (a grid's pool, a fusion, imported scores) are stored through
the same fold units by :func:`~mmemo.jobs.shared_runs.store_whole`: one path writes every
run's posteriors.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mmemo.errors import InputError
from mmemo.jobs.cv import CVData
from mmemo.jobs.fold_training import FitFold
from mmemo.jobs.run_spec import Execution, RunInfo, RunSpec
from mmemo.jobs.shared_runs import differing, execute_part, store_whole
from mmemo.models.base import FoldResult
from mmemo.progress import NullProgress, Progress
from mmemo.provenance import Holder
from mmemo.scheduler import Slice
from mmemo.store.lifecycle import discard, name_taken
from mmemo.store.schema import Run
from mmemo.store.store import Store

__all__ = [
    "Execution",
    "FitFold",
    "RunInfo",
    "RunSpec",
    "check_run_name",
    "execute_run",
    "store_run",
    "stored_runs",
]


def check_run_name(store: Store, name: str) -> None:
    """Refuse a name in use (:func:`~mmemo.store.lifecycle.name_taken`: it points at
    ``mmemo gc`` for one an interrupted job left)."""
    _check_valid(name)
    with store.session() as s, s.orm() as orm:
        run = orm.scalars(sa.select(Run).where(Run.name == name)).first()
    if run is not None:
        raise name_taken("runs", run)


def _check_valid(name: str) -> None:
    if not name or name != name.strip():
        raise InputError(f"invalid run name {name!r}")


def stored_runs(store: Store, wanted: dict[str, dict[str, Any]]) -> set[str]:
    """Which runs of a batch (a grid, or a Slurm task's part of one) are stored already, so
    that running the batch again makes only the rest: an interrupted grid resumes, a
    resubmitted array task skips what it finished.

    ``wanted`` maps each run's name to what the run must be
    (:func:`~mmemo.jobs.shared_runs.spec_identity`), in the batch's order. A complete run that
    is what it must be is kept; one left ``running`` by a holder that is gone is discarded
    (once every name is checked, so a refusal changes nothing), to be made again.

    Raises:
        InputError: a name taken by a run made otherwise, by a live process, or by an
            interrupted job with other settings (``mmemo gc``), the first in batch order.
    """
    for name in wanted:
        _check_valid(name)
    with store.session() as s, s.orm() as orm:
        runs = {r.name: r for r in orm.scalars(sa.select(Run).where(Run.name.in_(list(wanted))))}
    done, abandoned = set(), []
    for name, want in wanted.items():
        run = runs.get(name)
        if run is None:
            continue
        differ = differing(run, want)
        if run.status == "complete" and not differ:
            done.add(name)
        elif run.status == "running" and not differ and not Holder.of(run).alive():
            abandoned.append(run.id)
        else:
            raise name_taken("runs", run, differ)
    if abandoned:
        with store.session(write=True) as s:
            discard(s, "runs", abandoned)
    return done


def slice_folds(cv: CVData, part: Slice) -> list[int]:
    """The folds of slice ``part`` (``--folds I/N``): every N-th of the folds in order, from I.

    Raises:
        InputError: a slice with no fold (more tasks than folds).
    """
    folds = part.take(sorted(cv.fold_ids))
    if not folds:
        raise InputError(
            f"--folds {part}: no fold for this slice ('{cv.scheme}' has {len(cv.fold_ids)} "
            "folds with clips)"
        )
    return folds


def execute_run(
    store: Store,
    spec: RunSpec,
    cv: CVData,
    fit_fold: FitFold,
    *,
    folds: list[int] | Slice | None = None,
    progress: Progress | None = None,
    how: Execution = Execution(),
) -> RunInfo | None:
    """Train one model per fold, then store the run (see the module docstring): every fold of
    the scheme, or ``folds`` (numbers, or a slice ``I/N``) of a run that other processes
    complete. Either way the folds are units the process claims
    (:mod:`mmemo.jobs.shared_runs`): one path stores posteriors, artefacts and completion.

    Returns None on the non-zero ranks of a distributed job (``how.write`` False).
    """
    progress = progress or NullProgress()
    whole = folds is None
    if isinstance(folds, Slice):
        folds = slice_folds(cv, folds)
    if whole:
        _check_valid(spec.name)
    chosen = cv.fold_ids if whole else folds
    return execute_part(store, spec, cv, fit_fold, chosen, progress, how, whole=whole)


def store_run(
    store: Store,
    spec: RunSpec,
    cv: CVData,
    results: dict[int, FoldResult],
    seconds: list[float],
    *,
    started: float,
) -> RunInfo:
    """Store a run whose folds (``results``, in ``cv.fold_ids`` order with ``seconds``) were
    trained already, through the units of :func:`execute_run`
    (:func:`~mmemo.jobs.shared_runs.store_whole`)."""
    trained = {fold: (results[fold], spent) for fold, spent in zip(results, seconds, strict=True)}
    return store_whole(store, spec, cv, trained, started=started)
