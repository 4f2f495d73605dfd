"""``mmemo jobs``: job arrays submitted with ``--slurm``; and how a command submits one."""

from __future__ import annotations

import shlex
import time
from typing import Annotated, Any

import typer

from mmemo.cli.common import SlurmOptsOpt, console, open_store, simple_table, styled

jobs_app = typer.Typer(
    help="Job arrays submitted with --slurm: their tasks' Slurm state and progress.",
    no_args_is_help=False,
    invoke_without_command=True,
)


def submit_spec(ctx: typer.Context, spec: Any, *, tasks: int, options: str | None) -> None:
    """Submit a job spec as ``tasks`` Slurm array tasks, each running its slice of the
    spec's units (:meth:`mmemo.jobs.specs.JobSpec.run`)."""
    from mmemo.jobs.slurm import submit

    done = submit(open_store(ctx), spec, tasks=tasks, options=shlex.split(options or ""))
    console.print(
        styled(
            "submitted job ",
            (done.id, "bold"),
            f" to Slurm: {tasks} task(s) of {spec.job} '{spec.name}'; follow it with `mmemo jobs`",
        )
    )


@jobs_app.callback()
def jobs(
    ctx: typer.Context,
    job: Annotated[
        list[str] | None, typer.Option("--job", help="Only this job (repeatable).")
    ] = None,
    watch: Annotated[
        float | None,
        typer.Option(help="Refresh every this many seconds until every task has ended."),
    ] = None,
) -> None:
    """The store's submitted jobs, one row per task: Slurm's state (pending, running,
    completed, failed, cancelled, preempted, timeout; or, once Slurm has forgotten the task,
    the outcome the task recorded) and the progress the store holds.

    Example: `mmemo jobs`; `mmemo jobs --job 812 --watch 10`; `mmemo jobs resubmit 812`
    """
    if ctx.invoked_subcommand is not None:
        return
    from mmemo.jobs.slurm import job_states

    store = open_store(ctx)
    while True:
        rows = job_states(store, job or [])
        _print_states(rows)
        if watch is None or all(r.state not in _LIVE for r in rows):
            return
        time.sleep(watch)
        console.print()


#: States of a task that may still change.
_LIVE = {"pending", "configuring", "running", "completing", "requeued", "suspended"}


def _print_states(rows: list[Any]) -> None:
    if not rows:
        console.print("no job was submitted from this store (submit one with --slurm)")
        return
    columns = ["Job", "Task", "Slurm id", "State", "Tries", "Progress"]
    table = [(r.job, r.task, r.slurm_job, r.state, r.attempts, r.progress) for r in rows]
    console.print(simple_table(None, columns, table, caption=f"{len(rows)} task(s)"))
    commands = {r.job: r.command for r in rows}
    for job_id, command in commands.items():
        console.print(f"job {job_id}: {command}", soft_wrap=True)


@jobs_app.command("resubmit")
def resubmit(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(help="Job id (as `mmemo jobs` lists it).")],
    slurm_opts: SlurmOptsOpt = None,
) -> None:
    """Submit again the tasks of a job that did not complete (failed, cancelled, timed out,
    lost); they continue from the chunks and folds that earlier attempts committed.

    Example: `mmemo jobs resubmit 812 --slurm-opts "--time=8:00:00"`
    """
    from mmemo.jobs.slurm import resubmit as run

    done = run(open_store(ctx), job, options=shlex.split(slurm_opts or ""))
    if done is None:
        console.print(f"job {job}: every task completed or is still queued or running")
        return
    tasks = ", ".join(map(str, done.tasks))
    console.print(f"job {job}: task(s) {tasks} resubmitted as Slurm job {done.slurm_job}")


@jobs_app.command("cancel")
def cancel(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(help="Job id (as `mmemo jobs` lists it).")],
) -> None:
    """Cancel every task of a job (scancel); what its tasks committed stays:
    `mmemo jobs resubmit` continues from it, or `mmemo gc` removes what they left unfinished.

    Example: `mmemo jobs cancel 812`
    """
    from mmemo.jobs.slurm import cancel as run

    ids = run(open_store(ctx), job)
    console.print(f"job {job}: cancelled Slurm job(s) {', '.join(ids)}")


@jobs_app.command("task", hidden=True)
def task(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(help="Job id in the store.")],
) -> None:
    """Run this array task's slice of a submitted job (what the batch script calls)."""
    from mmemo.cli.main import app
    from mmemo.jobs.slurm import run_task, task_argv, task_spec

    store = open_store(ctx)
    found = task_spec(store, job)
    if found is not None:
        spec, part = found
        console.print(f"{spec.describe()} (part {part})", soft_wrap=True)
        run_task(store, job, lambda: _run_spec(store, spec, part))
        return
    argv = ["--store", str(store.root.absolute()), *task_argv(store, job)]
    console.print(f"mmemo {shlex.join(argv)}", soft_wrap=True)
    # In-process, the command returns its exit status (130 when interrupted) rather than
    # raising it: run_task records the task by that status, and the status goes on to the
    # error boundary, which says "interrupted" and exits 143 after SIGTERM.
    code = run_task(store, job, lambda: app(args=argv, prog_name="mmemo", standalone_mode=False))
    if code:
        raise typer.Exit(code)


def _run_spec(store: Any, spec: Any, part: Any) -> int:
    """Run one slice of a spec in this task and say what it made, as its command would."""
    from mmemo.cli.common import RichProgress
    from mmemo.cli.features import print_embed, print_ingest
    from mmemo.cli.train import report_run

    shard = None if part is None else f"{part.index}/{part.count}"
    for result in spec.run(store, part=part, progress=RichProgress(spec.job)):
        if spec.job == "embed":
            print_embed(result, shard)
        elif spec.job == "ingest openface":
            print_ingest(result, shard, spec.drop_nonfinite)
        else:
            report_run(result)
    return 0


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")
