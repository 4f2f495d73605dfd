"""Job arrays on Slurm: submit a long mmemo command as N tasks, follow them, resubmit the rest.

A submitted job is a row of ``scheduler_jobs``: the command every task runs, with ``{task}``
and ``{tasks}`` where its slice goes (``--shard {task}/{tasks}``, ``--folds {task}/{tasks}``).
The batch script holds no command and no credential, only
``python -m mmemo --store ROOT jobs task ID``: each task reads its command from the store, runs
it in-process and records how it ended in ``scheduler_tasks``. The tasks coordinate through the
store's claims as processes started by hand do; a claim records the task's Slurm id, so a
holder that Slurm says has ended is taken over (:meth:`mmemo.provenance.Holder.alive`).

The job is submitted held, recorded, then released, so no task can start before its record
exists. ``mmemo jobs resubmit`` submits the same script for the tasks that did not complete;
their work continues from what earlier attempts committed.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mmemo import scheduler
from mmemo.errors import InputError, listing
from mmemo.provenance import code_version
from mmemo.scheduler import SchedulerError
from mmemo.store.config import slurm_options
from mmemo.store.schema import (
    FeatureSet,
    FeatureSetShard,
    FoldAssignment,
    Run,
    RunFold,
    SchedulerJob,
    SchedulerTask,
    utcnow,
)
from mmemo.store.store import Store

#: How a command's work is split over tasks, and the option that gives a task its slice.
UNITS = {"shard": "--shard", "fold": "--folds", "config": "--shard"}


@dataclass(frozen=True)
class Submitted:
    """A job array handed to Slurm."""

    id: str  # the job's id in the store (its first Slurm job id)
    slurm_job: str  # the Slurm job id of this submission
    tasks: list[int]
    script: str


#: Where a task's slice goes in a job's command.
SLICE = "{task}/{tasks}"


def slice_option(unit: str) -> list[str]:
    """The option giving each task its slice of ``unit`` (``--shard {task}/{tasks}``)."""
    if unit not in UNITS:
        raise InputError(f"unknown unit of work {unit!r}; expected {', '.join(UNITS)}")
    return [UNITS[unit], SLICE]


def batch_script(store: Store, job: str, *, name: str, python: str | None = None) -> str:
    """The sbatch script of every task: run ``mmemo jobs task JOB`` on ``store``.

    ``job`` is the store's job id, or ``$SLURM_ARRAY_JOB_ID`` for a first submission. The
    script names no credential: the tasks get the submitting user's environment (sbatch
    exports it unless ``--export`` says otherwise).
    """
    python = python or sys.executable
    args = [python, "-m", "mmemo", "--store", str(store.root.absolute()), "jobs", "task"]
    return "\n".join(
        [
            "#!/bin/bash",
            f"#SBATCH --job-name={name}",
            f"#SBATCH --chdir={shlex.quote(os.getcwd())}",
            "set -eu",
            f"exec {shlex.join(args)} {job}",
            "",
        ]
    )


def submit(
    store: Store,
    command: Sequence[str],
    *,
    tasks: int,
    unit: str,
    entry: str | None = None,
    options: Sequence[str] = (),
    requeue: bool = True,
) -> Submitted:
    """Submit ``command`` (an mmemo argv after the global options, holding
    :func:`slice_option` of ``unit``) as ``tasks`` array tasks; record it in the store.

    ``options`` (sbatch options) follow the store's ``[slurm] options`` and win over them.
    ``requeue`` lets Slurm requeue tasks that are pre-empted or whose node fails.

    Raises:
        InputError: fewer than one task, or a command without its slice option.
        SchedulerError: sbatch refused the job (its message).
    """
    if tasks < 1:
        raise InputError(f"--tasks {tasks}: expected at least 1")
    argv = list(command)
    if SLICE not in argv or argv[argv.index(SLICE) - 1] != slice_option(unit)[0]:
        raise InputError(f"a {unit} job's command needs {' '.join(slice_option(unit))}")
    sbatch = [*slurm_options(store.root), *options, *(["--requeue"] if requeue else [])]
    script = batch_script(store, "$SLURM_ARRAY_JOB_ID", name=f"mmemo-{command[0]}")
    with store.session():  # fail here, not in every task, when the store cannot be opened
        pass
    job = scheduler.submit(script, array=f"0-{tasks - 1}", options=[*sbatch, "--hold"])
    try:
        with store.session(write=True) as s, s.orm() as orm:
            orm.add(
                SchedulerJob(
                    id=job,
                    command=argv,
                    tasks=tasks,
                    unit=unit,
                    entry=entry,
                    options=sbatch,
                    submissions=[{"job": job, "tasks": list(range(tasks))}],
                    code_version=code_version(),
                    host=socket.gethostname(),
                )
            )
            orm.commit()
    except BaseException:
        scheduler.cancel([job])
        raise
    scheduler.release(job)
    return Submitted(job, job, list(range(tasks)), script)


# -- inside a task ---------------------------------------------------------------------------


def task_argv(store: Store, job_id: str, environ: dict[str, str] | None = None) -> list[str]:
    """The command this array task runs: its job's command with the task's slice filled in.

    Raises:
        InputError: not in an array task, or a job the store does not hold.
    """
    env = os.environ if environ is None else environ
    task = env.get("SLURM_ARRAY_TASK_ID")
    if task is None or not task.isdigit():
        raise InputError("`mmemo jobs task` runs inside a Slurm array task (SLURM_ARRAY_TASK_ID)")
    job = _job(store, job_id)
    if int(task) >= job.tasks:
        raise InputError(f"job {job_id}: task {task} is not one of its {job.tasks} task(s)")
    return [a.replace("{task}", task).replace("{tasks}", str(job.tasks)) for a in job.command]


#: Exit statuses of a command that was interrupted: 128 + SIGINT (Typer's status for Ctrl-C,
#: which mmemo's CLI also gives SIGTERM in-process), 128 + SIGTERM (the CLI's own exit status).
INTERRUPTED = frozenset({128 + signal.SIGINT, 128 + signal.SIGTERM})


def run_task(store: Store, job_id: str, command: Callable[[], int | None]) -> int:
    """Run this array task's command (``command()`` returns its exit status) and record how
    it ended; return that status.

    The record says ``complete`` only when the command returned 0: an interrupted command
    (:data:`INTERRUPTED`: ``scancel``, the time limit or pre-emption, whose SIGTERM the CLI
    raises as Ctrl-C; Ctrl-C itself) is ``cancelled``, any other status or exception
    ``failed``, and ``mmemo jobs resubmit`` submits both again. A command line returns an
    interrupt as a status, not as an exception (Typer, non-standalone), so the status is what
    tells. A time limit cannot be told from ``scancel`` here (Slurm sends the task the same
    SIGTERM and no word of why), so it records ``cancelled`` too; Slurm's own state
    (``timeout``) is what ``mmemo jobs`` shows while Slurm remembers the task. A task killed
    outright (SIGKILL) stays ``running`` in the store, shown as ``lost`` once Slurm forgets it.
    """
    task = int(os.environ["SLURM_ARRAY_TASK_ID"])
    me = f"{os.environ.get('SLURM_ARRAY_JOB_ID', '?')}_{task}"
    _record(store, job_id, task, status="running", slurm_job=me, start=True)
    try:
        code = command() or 0
    except BaseException as exc:
        if _interrupted(exc):
            _record(store, job_id, task, status="cancelled", error=_CANCELLED)
        else:
            _record(store, job_id, task, status="failed", error=str(exc) or type(exc).__name__)
        raise
    if code in INTERRUPTED:
        _record(store, job_id, task, status="cancelled", error=_CANCELLED)
    elif code:
        _record(store, job_id, task, status="failed", error=f"exit status {code}")
    else:
        _record(store, job_id, task, status="complete")
    return code


_CANCELLED = "interrupted (scancel, time limit or pre-emption: SIGTERM; or Ctrl-C)"


def _interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` is an interrupt, or what a command line made of one (click's Abort)."""
    return isinstance(exc, KeyboardInterrupt) or isinstance(exc.__context__, KeyboardInterrupt)


def _record(
    store: Store,
    job_id: str,
    task: int,
    *,
    status: str,
    slurm_job: str | None = None,
    error: str | None = None,
    start: bool = False,
) -> None:
    with store.session(write=True) as s, s.orm() as orm:
        row = orm.get(SchedulerTask, (job_id, task))
        if row is None:
            orm.add(
                SchedulerTask(
                    job_id=job_id,
                    task=task,
                    status=status,
                    slurm_job=slurm_job,
                    attempts=1,
                    pid=os.getpid(),
                    host=socket.gethostname(),
                )
            )
        elif start:
            row.status, row.slurm_job, row.error, row.finished_at = status, slurm_job, None, None
            row.attempts += 1
            row.pid, row.host, row.started_at = os.getpid(), socket.gethostname(), utcnow()
        else:
            row.status, row.error, row.finished_at = status, error, utcnow()
        orm.commit()


# -- following and resubmitting --------------------------------------------------------------


@dataclass(frozen=True)
class TaskState:
    """One task of a submitted job as Slurm and the store see it."""

    job: str
    task: int
    slurm_job: str | None  # the Slurm id of its latest attempt
    state: str  # Slurm's state in lower case, else the store's outcome, else unknown/lost
    stored: str | None  # what the task recorded: running, complete, failed, cancelled
    attempts: int
    progress: str
    command: str


def job_states(store: Store, jobs: Sequence[str] = ()) -> list[TaskState]:
    """Every task of the store's submitted jobs (or of ``jobs``), newest job first.

    Slurm's state wins while Slurm knows the task; after that the store's record says how
    it ended: ``complete``/``failed``/``cancelled``, ``lost`` for a task that recorded its
    start but not its end (killed), ``never ran`` for one that never started (cancelled while
    pending: Slurm forgets those at once). Where Slurm cannot be asked, the store's record
    is shown as it is.
    """
    with store.session() as s, s.orm() as orm:
        query = sa.select(SchedulerJob).order_by(SchedulerJob.submitted_at.desc())
        if jobs:
            query = query.where(SchedulerJob.id.in_(list(jobs)))
        found = list(orm.scalars(query))
        if jobs and len(found) < len(set(jobs)):
            missing = sorted(set(jobs) - {j.id for j in found})
            raise InputError(f"no submitted job {', '.join(missing)} in this store (`mmemo jobs`)")
        tasks = {
            (t.job_id, t.task): t
            for t in orm.scalars(
                sa.select(SchedulerTask).where(SchedulerTask.job_id.in_([j.id for j in found]))
            )
        }
        progress = {j.id: _progress(orm, j) for j in found}
    slurm_ids = {f"{_latest(job, t)}_{t}" for job in found for t in range(job.tasks)}
    slurm: dict[str, str] | None
    try:
        slurm = scheduler.states(slurm_ids) if scheduler.available() else None
    except SchedulerError:
        slurm = None  # not asked: the store's record is all there is
    out = []
    for job in found:
        for t in range(job.tasks):
            row = tasks.get((job.id, t))
            sid = f"{_latest(job, t)}_{t}"
            stored = row.status if row is not None else None
            if slurm is None:  # unasked, a task that recorded its start may still run
                state = {"complete": "completed"}.get(stored or "", stored or "unknown")
            else:
                state = slurm.get(sid, "").lower() or _store_state(stored)
            out.append(
                TaskState(
                    job=job.id,
                    task=t,
                    slurm_job=sid,
                    state=state,
                    stored=stored,
                    attempts=row.attempts if row is not None else 0,
                    progress=progress[job.id](t),
                    command=shlex.join(
                        a.replace(SLICE, f"{{0..{job.tasks - 1}}}/{job.tasks}") for a in job.command
                    ),
                )
            )
    return out


def _latest(job: SchedulerJob, task: int) -> str:
    """The Slurm job id of the latest submission that holds ``task``."""
    return next(str(s["job"]) for s in reversed(job.submissions) if task in s["tasks"])


def _store_state(stored: str | None) -> str:
    if stored is None:
        return "never ran"
    return {"running": "lost", "complete": "completed"}.get(stored, stored)


def _progress(orm: Any, job: SchedulerJob) -> Callable[[int], str]:
    """A function giving a task's progress from the store's claims: folds of the run done,
    the state of the task's shard of the feature set(s), or the grid's runs it stored."""
    if job.entry is None:
        return lambda task: ""
    if job.unit == "fold":
        run = orm.scalars(sa.select(Run).where(Run.name == job.entry)).first()
        if run is None:
            return lambda task: "not started"
        folds = sorted(
            set(
                orm.scalars(
                    sa.select(FoldAssignment.fold).where(FoldAssignment.scheme == run.scheme)
                )
            )
        )
        done = set(
            orm.scalars(
                sa.select(RunFold.fold).where(
                    RunFold.run_id == run.id, RunFold.status == "complete"
                )
            )
        )
        if run.status == "complete":
            done = set(folds)

        def fold_progress(task: int) -> str:
            mine = folds[task :: job.tasks]
            return f"folds {sum(f in done for f in mine)}/{len(mine)}"

        return fold_progress
    if job.unit == "shard":
        sets = list(
            orm.scalars(
                sa.select(FeatureSet).where(
                    sa.or_(
                        FeatureSet.name == job.entry, FeatureSet.name.like(f"{job.entry}/layer=%")
                    )
                )
            )
        )
        if not sets:
            return lambda task: "not started"
        latest: dict[str, FeatureSet] = {}
        for fs in sets:
            if fs.name not in latest or fs.version > latest[fs.name].version:
                latest[fs.name] = fs
        ids = [fs.id for fs in latest.values()]
        shards = list(
            orm.scalars(sa.select(FeatureSetShard).where(FeatureSetShard.feature_set_id.in_(ids)))
        )
        complete = {fs.id for fs in latest.values() if fs.status == "complete"}

        def shard_progress(task: int) -> str:
            done = sum(
                fs_id in complete
                or any(
                    r.feature_set_id == fs_id and r.shard == task and r.status == "complete"
                    for r in shards
                )
                for fs_id in ids
            )
            return f"sets {done}/{len(ids)}" if len(ids) > 1 else ("done" if done else "to do")

        return shard_progress
    # config: the runs of the grid that the task's attempts stored (their holder's job)
    made = orm.execute(
        sa.select(Run.job).where(
            Run.status == "complete",
            sa.or_(*[Run.job.like(f"{s['job']}\\_%", escape="\\") for s in job.submissions]),
        )
    )
    counts: dict[int, int] = {}
    for (holder,) in made:
        task = int(holder.rsplit("_", 1)[1])
        counts[task] = counts.get(task, 0) + 1
    return lambda task: f"runs {counts.get(task, 0)}"


def resubmit(store: Store, job_id: str, *, options: Sequence[str] = ()) -> Submitted | None:
    """Submit again the tasks of a job that did not complete and are not running or queued;
    return None when there is none. Their work continues from what was committed.

    Raises:
        InputError: a job the store does not hold.
        SchedulerError: sbatch refused the job.
    """
    job = _job(store, job_id)
    redo = [
        t.task
        for t in job_states(store, [job_id])
        if t.stored != "complete" and t.state.upper() not in scheduler.ACTIVE
    ]
    if not redo:
        return None
    script = batch_script(store, job.id, name=f"mmemo-{job.command[0]}")
    new = scheduler.submit(script, array=",".join(map(str, redo)), options=[*job.options, *options])
    with store.session(write=True) as s, s.orm() as orm:
        row = orm.get(SchedulerJob, job.id)
        row.submissions = [*row.submissions, {"job": new, "tasks": redo}]
        orm.commit()
    return Submitted(job.id, new, redo, script)


def cancel(store: Store, job_id: str) -> list[str]:
    """Cancel every Slurm submission of a job; return the Slurm job ids cancelled."""
    job = _job(store, job_id)
    ids = [str(s["job"]) for s in job.submissions]
    scheduler.cancel(ids)
    return ids


def _job(store: Store, job_id: str) -> SchedulerJob:
    with store.session() as s, s.orm() as orm:
        job = orm.get(SchedulerJob, str(job_id))
        if job is None:
            known = list(orm.scalars(sa.select(SchedulerJob.id)))
            newest = listing(reversed(known))
            hint = f"; jobs here, newest first: {newest}" if known else "; none was submitted"
            raise InputError(f"no submitted job {job_id!r} in this store{hint}")
        orm.expunge(job)
        return job
