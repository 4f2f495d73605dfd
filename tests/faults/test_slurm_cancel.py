"""A Slurm array task stopped mid-run is not a completed task: cancelled (``mmemo jobs cancel``,
``scancel``) or sent SIGTERM as at a time limit, it records ``cancelled``, ``mmemo jobs
resubmit`` submits it again, and the new attempt continues from what the stopped one kept to
exactly the rows of an uninterrupted run (the ``slurm`` fixture: a real single-node Slurm).
Without Slurm, ``mmemo jobs task`` records ``complete`` only for a command that returned 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
import typer

from mmemo.errors import InputError
from mmemo.store.schema import SchedulerJob, SchedulerTask
from mmemo.testing.slurm import submitted_job, task_states

#: The tests on a Slurm cluster run on a local store only: what a task records does not depend
#: on where the store lives, and the embedding test relies on a local store's lock.
LOCAL = pytest.mark.parametrize("backend", ["local"], indirect=True)

#: Every clip with audio (416); one task commits them in chunks of 256 (embed's default).
CHUNK = 256
#: Two folds in ONE task, ~6 s each (patience = max_epochs: no early stop), so that the task
#: is stopped after its first fold was kept and before its second ends.
BILSTM = ["train", "bilstm", "--features", "aus", "--scheme", "kfold:2:2020", "--device", "cpu",
          "--seed", "5", "--early-stop-on", "test", "--param", "max_epochs=60",
          "--param", "patience=60"]  # fmt: skip


def _stored(store, job: str) -> list[tuple[int, str, int]]:
    """(task, status, attempts) of each task the store holds for ``job``."""
    with store.session() as s, s.orm() as orm:
        rows = orm.execute(
            sa.select(SchedulerTask.task, SchedulerTask.status, SchedulerTask.attempts)
            .where(SchedulerTask.job_id == job)
            .order_by(SchedulerTask.task)
        )
        return [tuple(r) for r in rows]


def _wait_for(done, what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.2)


def _resubmit_and_finish(store_cli, store, slurm, job: str) -> None:
    """Resubmit ``job``'s one task, wait for it, and see it recorded complete."""
    again = store_cli(store, "jobs", "resubmit", job)
    assert again.code == 0, again.err
    assert "task(s) 0 resubmitted" in again.out_text, again.out
    slurm.wait_idle(timeout=600)
    assert _stored(store, job) == [(0, "complete", 2)]
    assert task_states(store_cli, store, job) == {0: "completed"}
    assert "every task completed" in store_cli(store, "jobs", "resubmit", job).out_text


def _embeddings(store, name: str) -> list[tuple]:
    with store.session() as s:
        return s.fetch(
            "SELECT clip_id, ordinal, vector FROM clip_vectors WHERE feature_set = ? "
            "ORDER BY clip_id",
            [name],
        )


@pytest.mark.slow
@LOCAL
def test_an_embedding_task_cancelled_after_a_chunk_resumes_to_an_uninterrupted_set(
    aus_store, store_cli, slurm, tiny_w2v2, one_torch_thread
) -> None:
    tiny = str(tiny_w2v2[True])
    job = submitted_job(
        store_cli(aus_store, "embed", tiny, "--name", "cut", "--slurm", "--tasks", "1")
    )

    # The rest of the clips take a second or two: cancel while this test reads the (local)
    # store, so that the task, done computing or not, cannot commit its next chunk meanwhile;
    # `mmemo jobs cancel` reads it too, from a process of its own (one process opens a local
    # store once at a time).
    deadline = time.monotonic() + 300
    while True:
        assert time.monotonic() < deadline, f"no chunk committed: {_stored(aus_store, job)}"
        with aus_store.session() as s:
            kept = s.fetch("SELECT count(*) FROM lake.clip_embeddings")[0][0]
            if kept:
                assert kept == CHUNK, "the task ended before it could be cancelled"
                cancelled = subprocess.run(
                    [sys.executable, "-m", "mmemo", "--store", str(aus_store.root), "jobs",
                     "cancel", job],
                    capture_output=True, text=True, timeout=120,
                )  # fmt: skip
                break
        time.sleep(0.1)
    assert cancelled.returncode == 0, cancelled.stderr
    slurm.wait_idle(timeout=120)
    with aus_store.session() as s:
        assert s.fetch("SELECT count(*) FROM lake.clip_embeddings")[0][0] == CHUNK
    assert _stored(aus_store, job) == [(0, "cancelled", 1)]
    assert task_states(store_cli, aus_store, job) == {0: "cancelled"}
    assert _embeddings(aus_store, "cut") == []  # an unfinished set shows nothing

    _resubmit_and_finish(store_cli, aus_store, slurm, job)
    whole = store_cli(aus_store, "embed", tiny, "--name", "whole")
    assert whole.code == 0, whole.err
    cut = _embeddings(aus_store, "cut")
    assert len(cut) == 416 and cut == _embeddings(aus_store, "whole")  # every float


@pytest.mark.slow
@LOCAL
def test_a_fold_task_sent_sigterm_as_at_a_time_limit_resumes_to_an_uninterrupted_run(
    aus_store, store_cli, slurm, one_torch_thread
) -> None:
    job = submitted_job(store_cli(aus_store, *BILSTM, "--name", "cut", "--slurm", "--tasks", "1"))
    work = aus_store.paths.models / ".work"
    _wait_for(lambda: any(work.glob("**/fold-0.joblib")), "fold 0 kept")
    # What Slurm does at a time limit: SIGTERM to every process of the task's batch step,
    # SIGKILL after KillWait. (scancel would also cancel the job; this leaves it be.)
    subprocess.run(
        ["scancel", "--signal=TERM", "--full", f"{job}_0"], check=True, capture_output=True,
        timeout=30,
    )  # fmt: skip
    slurm.wait_idle(timeout=120)
    assert not any(work.glob("**/fold-1.joblib")), "the task ended before SIGTERM came"
    assert _stored(aus_store, job) == [(0, "cancelled", 1)]
    # Slurm's own word while it remembers the task (at a real time limit: timeout)
    assert task_states(store_cli, aus_store, job) == {0: "failed"}

    _resubmit_and_finish(store_cli, aus_store, slurm, job)
    whole = store_cli(aus_store, *BILSTM, "--name", "whole")
    assert whole.code == 0, whole.err
    with aus_store.session() as s:
        query = "SELECT fold, split, clip_id, scores FROM posteriors WHERE run = ? ORDER BY ALL"
        cut, uninterrupted = s.fetch(query, ["cut"]), s.fetch(query, ["whole"])
    assert cut and cut == uninterrupted


@pytest.mark.parametrize(
    ("command", "code", "status"),
    [
        (None, 0, "complete"),
        (KeyboardInterrupt, 130, "cancelled"),  # Ctrl-C
        ("sigterm", 143, "cancelled"),  # scancel, the time limit, pre-emption
        (typer.Exit(3), 3, "failed"),  # a status other than 0
        (InputError("no such thing"), 2, "failed"),  # an error
    ],
    ids=["returns", "ctrl-c", "sigterm", "exit-3", "error"],
)
@pytest.mark.slow
def test_a_task_records_complete_only_when_its_command_returned_0(
    store, cli, monkeypatch: pytest.MonkeyPatch, command, code: int, status: str
) -> None:
    """``mmemo jobs task`` in-process, as the batch script runs it, without Slurm: its command
    (``mmemo tables``) made to return, be interrupted or fail."""
    from mmemo.store import inventory

    real = inventory.table_overview

    def overview(opened):
        if command == "sigterm":
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)  # the signal interrupts this
        elif command is not None:
            raise command
        return real(opened)

    monkeypatch.setattr(inventory, "table_overview", overview)
    with store.session(write=True) as s, s.orm() as orm:
        orm.add(
            SchedulerJob(
                id="900", command=["tables"], tasks=1, unit="config", entry=None, options=[],
                submissions=[{"job": "900", "tasks": [0]}], code_version="test", host="here",
            )
        )  # fmt: skip
        orm.commit()
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "900")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "0")

    def reached_pytest(signum, frame):  # without the CLI's own handler, SIGTERM lands here
        raise AssertionError("SIGTERM was not handled by mmemo's CLI")

    previous = signal.signal(signal.SIGTERM, reached_pytest)
    try:
        result = cli("--store", store.root, "jobs", "task", "900")
        assert signal.getsignal(signal.SIGTERM) is reached_pytest  # the CLI put it back
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert result.code == code, result.err
    assert _stored(store, "900") == [(0, status, 1)]
    interrupted = "interrupted: nothing half-done was kept" in result.err_text
    assert interrupted == (status == "cancelled"), result.err
