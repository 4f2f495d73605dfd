"""The batch scheduler a lab already runs (Slurm), asked through its own commands.

mmemo talks to Slurm with ``sbatch --parsable``, ``squeue`` and ``scancel`` (and ``sacct``
where accounting is on) rather than through a Python client: every Slurm install has them, they
honour the user's ``SLURM_CONF`` and credentials, and a job array of plain ``mmemo`` commands is
what a user could have written by hand. A scheduler that cannot be reached is never taken to
mean that a job is dead: callers get ``None`` ("unknown") and keep their own judgement.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mmemo.errors import InputError, MmemoError

#: Seconds to wait for one scheduler command.
TIMEOUT = 30
#: Slurm states in which a job (or array task) may still run or run again.
ACTIVE = frozenset(
    {
        "PENDING",
        "CONFIGURING",
        "RUNNING",
        "COMPLETING",
        "SUSPENDED",
        "REQUEUED",
        "REQUEUE_FED",
        "REQUEUE_HOLD",
        "RESIZING",
        "SIGNALING",
        "STAGE_OUT",
        "STOPPED",
        "RESV_DEL_HOLD",
    }
)
_TASK = re.compile(r"^(\d+)_(\d+)$")


class SchedulerError(MmemoError):
    """The scheduler refused a request or could not be reached."""


def available() -> bool:
    """Whether Slurm's commands are on PATH."""
    return shutil.which("squeue") is not None and shutil.which("sbatch") is not None


def _run(args: Sequence[str], *, stdin: str | None = None) -> str:
    if shutil.which(args[0]) is None:
        raise SchedulerError(f"{args[0]} not found: is this a Slurm login node (PATH)?")
    try:
        done = subprocess.run(
            list(args), input=stdin, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise SchedulerError(f"{args[0]}: {exc}") from None
    if done.returncode != 0:
        message = " ".join(done.stderr.split()) or f"exit status {done.returncode}"
        raise SchedulerError(f"{args[0]}: {message}")
    return done.stdout


def submit(script: str, *, array: str, options: Sequence[str] = ()) -> str:
    """Submit ``script`` (its text, given on stdin) as a job array; return the job id.

    ``options`` are sbatch options, e.g. ``["--partition=gpu", "--time=2:00:00"]``; those on
    the command line win over ``#SBATCH`` lines in the script, as with sbatch itself.
    """
    out = _run(["sbatch", "--parsable", f"--array={array}", *options], stdin=script)
    job = out.strip().splitlines()[-1].split(";")[0] if out.strip() else ""
    if not job.isdigit():
        raise SchedulerError(f"sbatch: unexpected reply {out.strip()!r}")
    return job


def release(job: str) -> None:
    """Release a job submitted with ``--hold``."""
    _run(["scontrol", "release", job])


def cancel(jobs: Iterable[str]) -> None:
    """Cancel jobs or array tasks (``123``, ``123_4``)."""
    ids = list(jobs)
    if ids:
        _run(["scancel", *ids])


def states(jobs: Iterable[str]) -> dict[str, str]:
    """Slurm's state of each job or array task it still knows (``{"123_4": "RUNNING"}``).

    ``squeue`` lists jobs until a while after they end (``MinJobAge``); ``sacct`` is asked
    about the rest where accounting is on. An id neither knows is absent from the result.

    Raises:
        SchedulerError: Slurm cannot be reached.
    """
    wanted = set(jobs)
    if not wanted:
        return {}
    arrays = sorted({_TASK.sub(r"\1", j) for j in wanted})
    found = _squeue(arrays)
    missing = sorted({_TASK.sub(r"\1", j) for j in wanted if j not in found})
    if missing:
        found = {**_sacct(missing), **found}
    return {j: s for j, s in found.items() if j in wanted or _TASK.sub(r"\1", j) in wanted}


def _squeue(arrays: list[str]) -> dict[str, str]:
    # Without --jobs (an id Slurm has forgotten makes squeue fail), every job of the cluster.
    out = _run(["squeue", "--noheader", "--array", "--states=all", "--format=%i|%T"])
    ids = set(arrays)
    found = {}
    for line in out.splitlines():
        job, _, state = line.strip().partition("|")
        if job and (job in ids or _TASK.sub(r"\1", job) in ids):
            found[job] = state.split()[0] if state else "UNKNOWN"
    return found


def _sacct(arrays: list[str]) -> dict[str, str]:
    try:
        out = _run(
            [
                "sacct",
                "--noheader",
                "--parsable2",
                "--format=JobID,State",
                f"--jobs={','.join(arrays)}",
            ]
        )
    except SchedulerError:  # accounting off (or no sacct): squeue is all there is
        return {}
    found = {}
    for line in out.splitlines():
        job, _, state = line.partition("|")
        if _TASK.match(job) or job.isdigit():
            found[job] = state.split()[0] if state else "UNKNOWN"
    return found


def job_alive(job: str) -> bool | None:
    """Whether the job or array task ``job`` may still run: True or False from Slurm, None
    when Slurm cannot be asked (not installed here, or not answering)."""
    if not available():
        return None
    try:
        state = states([job]).get(job)
    except SchedulerError:
        return None
    return state in ACTIVE if state is not None else False


def array_task(
    environ: Mapping[str, str] | None = None, *, torchrun: bool = True
) -> tuple[int, int] | None:
    """(index, count) of this process among its job's tasks: a Slurm array task's
    ``SLURM_ARRAY_TASK_ID`` of ``SLURM_ARRAY_TASK_COUNT``, else (with ``torchrun``) torchrun's
    ``RANK`` of ``WORLD_SIZE``; None outside both. (The ranks of a DDP fine-tune share their
    folds, so fold slices ignore torchrun.)

    Raises:
        InputError: an array whose indices do not run 0 .. count-1 (``--array=1,3``), where
            the index of a task is not its slice: give ``--shard ID/N`` instead.
    """
    env = os.environ if environ is None else environ
    task = env.get("SLURM_ARRAY_TASK_ID")
    if task is not None:
        count = env.get("SLURM_ARRAY_TASK_COUNT")
        low, high = env.get("SLURM_ARRAY_TASK_MIN", "0"), env.get("SLURM_ARRAY_TASK_MAX")
        if count is None and high is not None:
            count = str(int(high) - int(low) + 1)
        if (
            not (task.isdigit() and count and count.isdigit())
            or low != "0"
            or (high is not None and int(high) != int(count) - 1)
        ):
            raise InputError(
                f"auto: array task {task} of an array that does not run 0..N-1 "
                f"(min {low}, max {high}, count {count}); give the slice as "
                "$SLURM_ARRAY_TASK_ID/N instead"
            )
        return int(task), int(count)
    rank, world = env.get("RANK"), env.get("WORLD_SIZE")
    if torchrun and rank is not None and world is not None and rank.isdigit() and world.isdigit():
        return int(rank), int(world)
    return None


@dataclass(frozen=True)
class Slice:
    """Slice ``index`` of ``count`` of a job's work (``--shard I/N``, ``--folds I/N``): N
    processes, on as many hosts or array tasks, each do every N-th item from ``index``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str, option: str = "--shard", *, torchrun: bool = True) -> Slice:
        """``I/N``, or ``auto``: this array task's index and count (:func:`array_task`).

        Raises:
            InputError: malformed, or ``auto`` outside an array task.
        """
        if text == "auto":
            found = array_task(torchrun=torchrun)
            if found is None:
                where = "a Slurm array task" + (" or a torchrun process" if torchrun else "")
                raise InputError(
                    f"{option} auto: not in {where} (no SLURM_ARRAY_TASK_ID); give I/N, e.g. 0/4"
                )
            return cls(*found)
        index, slash, count = text.partition("/")
        if not (slash and index.isdigit() and count.isdigit()) or not (
            0 <= int(index) < int(count)
        ):
            raise InputError(f"{option} {text!r}: expected I/N with 0 <= I < N (e.g. 0/4) or auto")
        return cls(int(index), int(count))

    def take(self, items: list[Any]) -> list[Any]:
        """This slice's items: every ``count``-th, from ``index`` (of items in a fixed order)."""
        return items[self.index :: self.count]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
