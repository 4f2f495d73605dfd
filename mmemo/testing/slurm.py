"""A real single-node Slurm cluster on loopback for the tests: munged, slurmctld and slurmd
from Debian's ``slurm-wlm`` and ``munge`` packages, all configured in a temporary folder.

Needs root (slurmd starts tasks as their user) and the binaries on PATH; :func:`missing` says
what is absent so that tests can skip with a clear reason. :func:`submitted_job` and
:func:`task_states` read back what ``--slurm`` and ``mmemo jobs`` printed.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mmemo.testing.servers import HOST, ServerError, free_port
from mmemo.testing.text import table_cells

BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol", "sinfo")
MUNGE_USER = "munge"
START_TIMEOUT = 60


def missing() -> str | None:
    """Why a cluster cannot start here (None when it can)."""
    absent = [b for b in BINARIES if shutil.which(b) is None]
    if absent:
        return f"no {', '.join(absent)} (apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "a single-node Slurm needs root (slurmd runs the tasks)"
    try:
        pwd.getpwnam(MUNGE_USER)
    except KeyError:
        return f"no '{MUNGE_USER}' system user (apt-get install munge)"
    return None


@dataclass(frozen=True)
class SlurmCluster:
    """A running cluster: its ``slurm.conf`` and the environment its clients need."""

    root: Path
    conf: Path
    node: str
    cpus: int

    @property
    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def wait_idle(self, timeout: float = 120) -> None:
        """Wait until no job of the cluster is pending or running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = _client(self, ["squeue", "--noheader", "--array", "--format=%i|%T"])
            if not out.strip():
                return
            time.sleep(0.5)
        raise ServerError(f"Slurm jobs still running after {timeout} s:\n{out}")


def _client(cluster: SlurmCluster, args: list[str]) -> str:
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=30, env={**os.environ, **cluster.env}
    )
    if done.returncode != 0:
        raise ServerError(f"{' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def _config(root: Path, node: str, cpus: int, munge_socket: Path) -> str:
    ctld = slurmd = free_port()
    while slurmd == ctld:  # two free ports, not the same one twice
        slurmd = free_port()
    return "\n".join(
        [
            "ClusterName=mmemo-test",
            f"SlurmctldHost={node}({HOST})",
            f"SlurmctldPort={ctld}",
            f"SlurmdPort={slurmd}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={munge_socket}",
            "SlurmUser=root",
            "SlurmdUser=root",
            f"StateSaveLocation={root / 'state'}",
            f"SlurmdSpoolDir={root / 'spool'}",
            f"SlurmctldPidFile={root / 'slurmctld.pid'}",
            f"SlurmdPidFile={root / 'slurmd.pid'}",
            f"SlurmctldLogFile={root / 'slurmctld.log'}",
            f"SlurmdLogFile={root / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "ReturnToService=2",
            "MpiDefault=none",
            "MinJobAge=600",  # finished tasks stay visible to squeue while a test looks
            "KillWait=5",
            "SchedulerParameters=defer_batch",
            f"NodeName={node} NodeAddr={HOST} CPUs={cpus} State=UNKNOWN",
            f"PartitionName=test Nodes={node} Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


@contextmanager
def slurm_cluster(base: Path | None = None) -> Iterator[SlurmCluster]:
    """Start munged, slurmctld and slurmd in a temporary folder; stop them on exit.

    Raises:
        ServerError: what :func:`missing` says, or a daemon that does not come up.
    """
    reason = missing()
    if reason:
        raise ServerError(reason)
    root = Path(tempfile.mkdtemp(prefix="mmemo-slurm-", dir=base))
    root.chmod(0o755)
    node = socket.gethostname().split(".")[0]
    cpus = os.cpu_count() or 1
    munge = root / "munge"
    munge.mkdir(mode=0o755)
    for sub in ("state", "spool"):
        (root / sub).mkdir()
    user = pwd.getpwnam(MUNGE_USER)
    key = munge / "munge.key"
    key.write_bytes(secrets.token_bytes(1024))
    key.chmod(0o400)
    for path in (munge, key):
        os.chown(path, user.pw_uid, user.pw_gid)
    socket_path = munge / "munge.socket"
    conf = root / "slurm.conf"
    conf.write_text(_config(root, node, cpus, socket_path), encoding="utf-8")
    cluster = SlurmCluster(root, conf, node, cpus)
    env = {**os.environ, **cluster.env}
    pids = [munge / "munged.pid", root / "slurmd.pid", root / "slurmctld.pid"]
    try:
        subprocess.run(
            [
                "runuser", "-u", MUNGE_USER, "--", "munged", f"--socket={socket_path}",
                f"--key-file={key}", f"--pid-file={pids[0]}", f"--log-file={munge / 'munged.log'}",
                f"--seed-file={munge / 'munged.seed'}",
            ],
            check=True, capture_output=True, timeout=START_TIMEOUT,
        )  # fmt: skip
        for daemon in ("slurmctld", "slurmd"):
            subprocess.run(
                [daemon, "-f", str(conf)], env=env, check=True, capture_output=True,
                timeout=START_TIMEOUT,
            )  # fmt: skip
        _wait_for_node(cluster)
        yield cluster
    except subprocess.CalledProcessError as exc:
        raise ServerError(f"{exc.cmd[0]} did not start: {exc.stderr!r}; see {root}") from None
    finally:
        for pid_file in pids:
            _stop(pid_file)
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_node(cluster: SlurmCluster) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    state = ""
    while time.monotonic() < deadline:
        with suppress(ServerError):
            state = _client(cluster, ["sinfo", "--noheader", "--format=%T"]).strip()
            if state in ("idle", "mixed", "allocated"):
                return
        time.sleep(0.5)
    log = (cluster.root / "slurmctld.log").read_text(errors="replace")[-2000:]
    raise ServerError(f"the Slurm node did not come up (state {state!r}):\n{log}")


def _stop(pid_file: Path, timeout: float = 15) -> None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)


class CliOutput(Protocol):
    """What an in-process ``mmemo`` call returned (the ``cli`` fixture of the tests)."""

    @property
    def code(self) -> int: ...
    @property
    def out(self) -> str: ...
    @property
    def err(self) -> str: ...


def submitted_job(result: CliOutput) -> str:
    """The job id that a ``--slurm`` command printed (``submitted job 812 to Slurm: ...``)."""
    found = re.search(r"submitted job (\d+)", " ".join(result.out.split()))
    if result.code != 0 or found is None:
        raise AssertionError(
            f"no job submitted (exit status {result.code}):\n{result.out}{result.err}"
        )
    return found.group(1)


def task_states(store_cli: Callable[..., CliOutput], store: object, job: str) -> dict[int, str]:
    """Task -> state, from the table that ``mmemo jobs --job JOB`` prints (``store_cli``: the
    tests' fixture that runs ``mmemo --store STORE ...`` in-process)."""
    result = store_cli(store, "jobs", "--job", job)
    if result.code != 0:
        raise AssertionError(f"mmemo jobs --job {job}: {result.err}")
    rows = table_cells(result.out)
    header = rows[0]
    task, state = header.index("Task"), header.index("State")
    return {int(r[task]): r[state] for r in rows[1:] if len(r) == len(header)}
