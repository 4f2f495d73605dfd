"""Job arrays on Slurm: submit a long job as N tasks, follow them, resubmit the rest.

A submitted job is a row of ``scheduler_jobs`` whose ``command`` holds what every task runs:
the job's spec as JSON (``{"spec": ...}``, :mod:`mmemo.jobs.specs`; each task runs its slice
of the spec's units), or, for the jobs that have no spec yet (``embed``, ``ingest
openface``), the mmemo command with ``{task}`` and ``{tasks}`` where its slice goes
(``--shard {task}/{tasks}``). The batch script holds no command and no credential, only
``python -m mmemo --store ROOT jobs task ID``: each task reads its work from the store, runs
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mmemo import scheduler
from mmemo.errors import InputError, listing
from mmemo.jobs.slurm_progress import task_progress
from mmemo.provenance import code_version
from mmemo.scheduler import SchedulerError, Slice
from mmemo.specs import JobSpec, spec_from_json
from mmemo.store.config import slurm_options
from mmemo.store.schema import (
    SchedulerJob,
    SchedulerTask,
    utcnow,
)
from mmemo.store.store import Store


@dataclass(frozen=True)
class Submitted:
    """A job array handed to Slurm."""

    id: str  # the job's id in the store (its first Slurm job id)
    slurm_job: str  # the Slurm job id of this submission
    tasks: list[int]
    script: str


#: Where a task's slice went in the command of a job an earlier mmemo submitted.
SLICE = "{task}/{tasks}"


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
    spec: JobSpec,
    *,
    tasks: int,
    options: Sequence[str] = (),
    requeue: bool = True,
) -> Submitted:
    """Submit ``spec`` as ``tasks`` array tasks, each running its slice of the spec's units
    (a grid's configurations, a run's folds, a feature set's shards); record it in the store.

    ``options`` (sbatch options) follow the store's ``[slurm] options`` and win over them.
    ``requeue`` lets Slurm requeue tasks that are pre-empted or whose node fails.

    Raises:
        InputError: fewer than one task.
        SchedulerError: sbatch refused the job (its message).
    """
    if tasks < 1:
        raise InputError(f"--tasks {tasks}: expected at least 1")
    if spec.unit == "run" and tasks > 1:
        raise InputError(f"--tasks {tasks}: {spec.job} runs in one process (--tasks 1)")
    payload = {"spec": spec.to_json()}
    unit, entry = spec.unit, spec.name
    sbatch = [*slurm_options(store.root), *options, *(["--requeue"] if requeue else [])]
    script = batch_script(store, "$SLURM_ARRAY_JOB_ID", name=_job_name(payload))
    with store.session():  # fail here, not in every task, when the store cannot be opened
        pass
    job = scheduler.submit(script, array=f"0-{tasks - 1}", options=[*sbatch, "--hold"])
    try:
        with store.session(write=True) as s, s.orm() as orm:
            orm.add(
                SchedulerJob(
                    id=job,
                    command=payload,
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


def _job_name(payload: Any) -> str:
    """The Slurm job name: ``mmemo-`` and the job's first word (``mmemo-train``)."""
    first = payload["spec"]["job"] if isinstance(payload, dict) else payload[0]
    return f"mmemo-{str(first).split()[0]}"


def describe(payload: Any, tasks: int) -> str:
    """What a job's tasks run, for ``mmemo jobs``: the spec in one line, or the command with
    its slice shown as ``{0..N-1}/N``."""
    if isinstance(payload, dict):
        return spec_from_json(payload["spec"]).describe()
    return "mmemo " + shlex.join(a.replace(SLICE, f"{{0..{tasks - 1}}}/{tasks}") for a in payload)


# -- inside a task ---------------------------------------------------------------------------


def task_spec(store: Store, job_id: str) -> tuple[JobSpec, Slice] | None:
    """This array task's spec and slice, or None for a job submitted as a command line.

    Raises:
        InputError: not in an array task, a job the store does not hold, a spec that does not
            read back.
    """
    job, task = _this_task(store, job_id, os.environ)
    if not isinstance(job.command, dict):
        return None
    return spec_from_json(job.command["spec"]), Slice(task, job.tasks)


def _this_task(store: Store, job_id: str, env: Mapping[str, str]) -> tuple[SchedulerJob, int]:
    task = env.get("SLURM_ARRAY_TASK_ID")
    if task is None or not task.isdigit():
        raise InputError("`mmemo jobs task` runs inside a Slurm array task (SLURM_ARRAY_TASK_ID)")
    job = _job(store, job_id)
    if int(task) >= job.tasks:
        raise InputError(f"job {job_id}: task {task} is not one of its {job.tasks} task(s)")
    return job, int(task)


def task_argv(store: Store, job_id: str, environ: dict[str, str] | None = None) -> list[str]:
    """The command this array task runs, for a job an earlier mmemo submitted as a command
    line (before the specs): its command with the task's slice filled in.

    Raises:
        InputError: not in an array task, or a job the store does not hold.
    """
    job, task = _this_task(store, job_id, os.environ if environ is None else environ)
    return [a.replace("{task}", str(task)).replace("{tasks}", str(job.tasks)) for a in job.command]


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
        progress = {j.id: task_progress(orm, j) for j in found}
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
                    command=describe(job.command, job.tasks),
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
    script = batch_script(store, job.id, name=_job_name(job.command))
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
