"""What a registry entry records about the code and machine that made it."""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

import mmemo
from mmemo import scheduler

_LIBRARIES = (
    "duckdb",
    "duckdb-extension-ducklake",
    "sqlalchemy",
    "numpy",
    "pyarrow",
    "scikit-learn",
    "torch",
    "transformers",
)


@cache
def code_version() -> str:
    """``mmemo <version>``, plus the git commit (and ``-dirty``) when run from a checkout."""
    version = f"mmemo {mmemo.__version__}"
    root = Path(mmemo.__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return version
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version} ({commit})" if commit else version


@cache
def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a result depends on (absent ones are omitted)."""
    found = {}
    for name in _LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def scheduler_job() -> str | None:
    """The batch scheduler's id of the job this process runs in, or None outside one: Slurm's
    ``ARRAYJOB_TASK`` for an array task (``SLURM_ARRAY_JOB_ID``, ``SLURM_ARRAY_TASK_ID``),
    else ``SLURM_JOB_ID``. Stored with claims so that a scheduler can later be asked whether
    the holder still runs."""
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array and task:
        return f"{array}_{task}"
    return os.environ.get("SLURM_JOB_ID") or None


@dataclass(frozen=True)
class Holder:
    """Who holds a claim on a store entry or a unit of its work: a process on a host, and
    the scheduler job it runs in (if any)."""

    pid: int | None
    host: str | None
    job: str | None = None

    @classmethod
    def current(cls) -> Holder:
        pid, host = process_identity()
        return cls(pid, host, scheduler_job())

    @classmethod
    def of(cls, row: object) -> Holder:
        """The holder recorded on a registry row (``pid``, ``host`` and ``job`` columns)."""
        return cls(getattr(row, "pid", None), getattr(row, "host", None), getattr(row, "job", None))

    def alive(self) -> bool:
        """Whether the holder may still be at work.

        A holder in a scheduler job is dead when the scheduler says the job has ended; while
        the job runs, a holder on this host is judged by its pid, and one on another host is
        alive unless this process runs in that same job (a requeued or restarted task: the
        earlier holder is gone). Without a scheduler to ask: :func:`pid_alive`.
        """
        if self.job:
            running = scheduler.job_alive(self.job)
            if running is False:
                return False
            if running and self.host != socket.gethostname():
                return self.job != scheduler_job()
        return pid_alive(self.pid, self.host)

    def same_process(self, other: Holder) -> bool:
        return (self.pid, self.host) == (other.pid, other.host)

    def columns(self) -> dict[str, object]:
        """The registry columns that record this holder."""
        return {"pid": self.pid, "host": self.host, "job": self.job}

    def __str__(self) -> str:
        job = f" (scheduler job {self.job})" if self.job else ""
        return f"process {self.pid} on {self.host}{job}"


def process_identity() -> tuple[int, str]:
    """(pid, host) of this process, stored with running jobs so `mmemo gc` can tell orphans."""
    return os.getpid(), socket.gethostname()


def pid_alive(pid: int | None, host: str | None) -> bool:
    """True when ``pid`` on ``host`` still runs (assumed alive when on another host)."""
    if pid is None:
        return False
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
