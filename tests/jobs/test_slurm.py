"""Job arrays on a real single-node Slurm (``slurm`` fixture: munged, slurmctld and slurmd on
loopback): submitted work equals one process's, the scheduler judges claims, failed and
cancelled tasks are resubmitted, and ``mmemo jobs`` shows what Slurm and the store know."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from mmemo.store.schema import FeatureSet, FeatureSetShard, SchedulerTask
from mmemo.testing.slurm import submitted_job, task_states
from mmemo.testing.text import table_cells

pytestmark = pytest.mark.slow

SPEECH = "modality = 1 AND vocal_channel = 1 AND statement = 1"  # 60 clips
KFOLD2 = "kfold:2:2020"
BILSTM = ["--features", "aus", "--scheme", KFOLD2, "--device", "cpu", "--seed", "5"]
BILSTM += ["--early-stop-on", "test", "--param", "max_epochs=2"]


def _embeddings(store, name: str) -> list[tuple]:
    with store.session() as s:
        return s.fetch(
            "SELECT v.clip_id, v.ordinal, v.vector FROM lake.clip_embeddings v "
            "JOIN feature_sets f ON f.id = v.feature_set_id "
            "WHERE f.name = ? AND f.status = 'complete' ORDER BY v.clip_id",
            [name],
        )


def _scontrol(*args: str) -> None:
    subprocess.run(["scontrol", *args], check=True, capture_output=True, timeout=30)


def test_an_embedding_in_three_array_tasks_equals_one_process(
    jobs_store, store_cli, slurm, tiny_w2v2
) -> None:
    tiny = str(tiny_w2v2[True])
    started = time.perf_counter()
    job = submitted_job(
        store_cli(
            jobs_store, "embed", tiny, "--name", "arr", "--clips", SPEECH, "--slurm",
            "--tasks", "3",
        )
    )  # fmt: skip
    slurm.wait_idle(timeout=600)
    array_seconds = time.perf_counter() - started
    assert task_states(store_cli, jobs_store, job) == {t: "completed" for t in range(3)}
    started = time.perf_counter()
    single = store_cli(jobs_store, "embed", tiny, "--name", "one", "--clips", SPEECH)
    assert single.code == 0, single.err
    print(f"3-task array {array_seconds:.1f} s, one process {time.perf_counter() - started:.1f} s")

    arr = _embeddings(jobs_store, "arr")
    assert len(arr) == 60
    assert arr == _embeddings(jobs_store, "one")  # clip, ordinal and every float
    with jobs_store.session() as s, s.orm() as orm:
        shards = orm.execute(
            sa.select(FeatureSetShard.shard, FeatureSetShard.job)
            .join(FeatureSet, FeatureSet.id == FeatureSetShard.feature_set_id)
            .where(FeatureSet.name == "arr")
            .order_by(FeatureSetShard.shard)
        ).all()
        tasks = orm.execute(sa.select(SchedulerTask.task, SchedulerTask.status)).all()
    assert [tuple(r) for r in shards] == [(t, f"{job}_{t}") for t in range(3)]  # claims say who
    assert sorted(tuple(r) for r in tasks) == [(t, "complete") for t in range(3)]


def test_a_fold_array_bilstm_equals_a_single_process_run(
    jobs_store, store_cli, slurm, jobs_posteriors
) -> None:
    job = submitted_job(
        store_cli(jobs_store, "train", "bilstm", "--name", "spread", *BILSTM, "--slurm")
    )
    slurm.wait_idle(timeout=600)
    states = task_states(store_cli, jobs_store, job)
    assert states == {0: "completed", 1: "completed"}  # one task per fold of kfold:2
    whole = store_cli(jobs_store, "train", "bilstm", "--name", "whole", *BILSTM)
    assert whole.code == 0, whole.err
    spread = jobs_posteriors(jobs_store, "spread")
    assert spread and spread == jobs_posteriors(jobs_store, "whole")


def test_a_spec_submitted_from_python_equals_a_single_process_run(
    jobs_store, store_cli, slurm, jobs_posteriors
) -> None:
    """No command line anywhere: a spec built in Python, submitted through the public API,
    stored as JSON, read back by each task and run on its folds, gives the rows of the same
    spec run in one process."""
    import dataclasses

    import mmemo

    spec = mmemo.BiLSTMSpec(
        name="py", features="aus", scheme=KFOLD2, clips="av-speech", device="cpu", seed=5,
        early_stop_on="test", params={"max_epochs": 2},
    )  # fmt: skip
    done = mmemo.open(jobs_store.root).submit(spec, tasks=2)
    slurm.wait_idle(timeout=600)
    assert task_states(store_cli, jobs_store, done.id) == {0: "completed", 1: "completed"}
    with jobs_store.session() as s:
        (stored,) = s.fetch("SELECT command FROM scheduler_jobs WHERE id = ?", [done.id])[0]
    assert json.loads(stored) == {"spec": spec.to_json()}  # data, not command text
    (whole,) = mmemo.open(jobs_store.root).train(dataclasses.replace(spec, name="whole"))
    assert whole.status == "complete"
    arrayed = jobs_posteriors(jobs_store, "py")
    assert arrayed and arrayed == jobs_posteriors(jobs_store, "whole")


def test_a_cancelled_task_is_resubmitted_and_the_set_equals_an_uninterrupted_one(
    jobs_store, store_cli, slurm, tiny_w2v2
) -> None:
    tiny = str(tiny_w2v2[True])
    job = submitted_job(
        store_cli(
            jobs_store, "embed", tiny, "--name", "arr", "--clips", SPEECH, "--slurm",
            "--tasks", "3", "--slurm-opts", "--begin=now+600",
        )
    )  # fmt: skip
    assert set(task_states(store_cli, jobs_store, job).values()) == {"pending"}
    subprocess.run(["scancel", f"{job}_1"], check=True, timeout=30)
    for task in (0, 2):
        _scontrol("update", f"JobId={job}_{task}", "StartTime=now")
    slurm.wait_idle(timeout=600)
    # Slurm forgets a task cancelled while pending; the store knows it never started.
    states = task_states(store_cli, jobs_store, job)
    assert states == {0: "completed", 1: "never ran", 2: "completed"}
    assert _embeddings(jobs_store, "arr") == []  # the set waits for shard 1: nothing visible

    again = store_cli(jobs_store, "jobs", "resubmit", job, "--slurm-opts", "--begin=now")
    assert again.code == 0, again.err
    assert "task(s) 1 resubmitted" in " ".join(again.out.split())
    new = re.search(r"as Slurm job (\d+)", " ".join(again.out.split())).group(1)
    slurm.wait_idle(timeout=600)
    assert task_states(store_cli, jobs_store, job) == {t: "completed" for t in range(3)}
    listing = table_cells(store_cli(jobs_store, "jobs", "--job", job).out)
    ids = {r[listing[0].index("Task")]: r[listing[0].index("Slurm id")] for r in listing[1:4]}
    assert ids == {"0": f"{job}_0", "1": f"{new}_1", "2": f"{job}_2"}
    nothing = store_cli(jobs_store, "jobs", "resubmit", job)
    assert "every task completed" in " ".join(nothing.out.split())

    single = store_cli(jobs_store, "embed", tiny, "--name", "one", "--clips", SPEECH)
    assert single.code == 0, single.err
    arr = _embeddings(jobs_store, "arr")
    assert len(arr) == 60 and arr == _embeddings(jobs_store, "one")


def test_a_failing_task_shows_as_failed_and_a_grid_spreads_over_tasks(
    jobs_store, store_cli, slurm
) -> None:
    failing = submitted_job(
        store_cli(jobs_store, "ingest", "openface", "/no/such/csvs", "--name", "x", "--slurm",
                  "--tasks", "2")
    )  # fmt: skip
    grid = ["train", "static", "--model", "knn", "--features", "aus:mean", "--scheme", KFOLD2]
    grid += ["--param", "n_neighbors=1,3,5", "--jobs", "1"]
    spread = submitted_job(store_cli(jobs_store, *grid, "--name", "g", "--slurm", "--tasks", "2"))
    slurm.wait_idle(timeout=600)
    assert task_states(store_cli, jobs_store, failing) == {0: "failed", 1: "failed"}
    with jobs_store.session() as s, s.orm() as orm:
        query = sa.select(SchedulerTask.error).where(SchedulerTask.job_id == failing)
        errors = list(orm.scalars(query))
    assert all("/no/such/csvs" in (e or "") for e in errors), errors
    assert task_states(store_cli, jobs_store, spread) == {0: "completed", 1: "completed"}

    whole = store_cli(jobs_store, *grid, "--name", "w")
    assert whole.code == 0, whole.err
    with jobs_store.session() as s:
        runs = s.fetch(
            "SELECT replace(run, 'w/', 'g/'), fold, split, clip_id, scores FROM posteriors "
            "WHERE run LIKE 'w/%' ORDER BY ALL"
        )
        spread_rows = s.fetch(
            "SELECT run, fold, split, clip_id, scores FROM posteriors WHERE run LIKE 'g/%' "
            "ORDER BY ALL"
        )
    assert len({r[0] for r in runs}) == 3 and spread_rows == runs


def test_a_claim_of_a_killed_task_is_judged_dead_by_the_scheduler(
    jobs_store, store_cli, slurm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task claims a shard and dies by SIGKILL. Its claim names a host other than this one,
    so its pid says nothing here: Slurm's word that the task ended is what frees the claim;
    a claim of a task Slurm still runs is refused, except by that task itself once requeued;
    after `scancel`, `mmemo gc` removes what the task left."""
    claim = (
        "import os, signal; from mmemo.store.store import Store; "
        "from mmemo.features.sets import Shard, begin_feature_set; "
        f"begin_feature_set(Store.open({str(jobs_store.root)!r}), name='s', kind='embedding', "
        "params={'model': 'm'}, inputs={}, clip_keys=[('a', '1'), ('b', '2')], "
        "shard=Shard.parse('0/2')); os.kill(os.getpid(), signal.SIGKILL)"
    )
    killed = subprocess.run(
        ["sbatch", "--parsable", "--array=0", f"--wrap={sys.executable} -c {claim!r}"],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout.strip()  # fmt: skip
    slurm.wait_idle()
    _move_claims(jobs_store, f"{killed}_0")
    from mmemo.features.sets import Shard, begin_feature_set

    def begin():
        return begin_feature_set(
            jobs_store, name="s", kind="embedding", params={"model": "m"}, inputs={},
            clip_keys=[("a", "1"), ("b", "2")], shard=Shard.parse("0/2"),
        )  # fmt: skip

    taken = begin()  # Slurm says task 0 of the array failed: its claim is taken over
    assert taken.resumed
    with jobs_store.session() as s, s.orm() as orm:
        shard = orm.scalars(sa.select(FeatureSetShard)).one()
        assert (shard.pid, shard.job) == (os.getpid(), None)

    live = subprocess.run(
        ["sbatch", "--parsable", "--array=0", "--wrap=sleep 300"],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout.strip()  # fmt: skip
    _wait_running(f"{live}_0")
    _move_claims(jobs_store, f"{live}_0")
    from mmemo.errors import InputError

    with pytest.raises(InputError, match=f"scheduler job {live}_0"):
        begin()
    from mmemo.provenance import Holder

    holder = Holder(4242, "node-17.cluster", f"{live}_0")
    assert holder.alive()
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", live)  # this process as the same task, requeued
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "0")
    assert not holder.alive()  # Slurm runs one instance of a task: the earlier one is gone
    monkeypatch.delenv("SLURM_ARRAY_JOB_ID")
    monkeypatch.delenv("SLURM_ARRAY_TASK_ID")

    subprocess.run(["scancel", live], check=True, timeout=30)
    slurm.wait_idle()
    cleaned = store_cli(jobs_store, "gc")
    assert cleaned.code == 0, cleaned.err
    with jobs_store.session() as s:
        assert s.fetch("SELECT count(*) FROM feature_sets WHERE name = 's'") == [(0,)]


def test_a_hand_written_array_script_takes_its_shard_from_slurm(
    jobs_store, store_cli, slurm, synth_corpus
) -> None:
    csvs = str(synth_corpus.openface_dir / "01-01-0[1-4]-*.csv")
    command = [sys.executable, "-m", "mmemo", "--store", str(jobs_store.root), "ingest",
               "openface", csvs, "--name", "hand", "--shard", "auto"]  # fmt: skip
    script = "#!/bin/bash\nset -eu\n" + " ".join(map(shlex.quote, command)) + "\n"
    subprocess.run(
        ["sbatch", "--parsable", "--array=0-2"], input=script, check=True, capture_output=True,
        text=True, timeout=30,
    )  # fmt: skip
    slurm.wait_idle(timeout=600)
    whole = store_cli(jobs_store, "ingest", "openface", csvs, "--name", "one")
    assert whole.code == 0, whole.err
    with jobs_store.session() as s:
        sets = s.fetch("SELECT name, status FROM feature_sets WHERE name IN ('hand', 'one')")
        shards = s.fetch(
            "SELECT shard, shards FROM feature_set_shards JOIN feature_sets f "
            "ON f.id = feature_set_id WHERE f.name = 'hand' ORDER BY 1"
        )
        frames = {
            name: s.fetch(
                "SELECT a.* EXCLUDE (feature_set_id) FROM lake.au_frames a "
                "JOIN feature_sets f ON f.id = a.feature_set_id AND f.name = ? ORDER BY ALL",
                [name],
            )
            for name in ("hand", "one")
        }
    assert sorted(sets) == [("hand", "complete"), ("one", "complete")]
    assert shards == [(0, 3), (1, 3), (2, 3)]
    assert frames["hand"] and frames["hand"] == frames["one"]


def _move_claims(store, job: str) -> None:
    """Make every claim of the store look held by ``job`` on another host."""
    with store.session(write=True) as s, s.orm() as orm:
        for model in (FeatureSet, FeatureSetShard):
            orm.execute(sa.update(model).values(host="node-17.cluster", pid=4242, job=job))
        orm.commit()


def _wait_running(job: str, timeout: float = 60) -> None:
    from mmemo.scheduler import states

    deadline = time.monotonic() + timeout
    while states([job]).get(job) != "RUNNING":
        assert time.monotonic() < deadline, f"{job} did not start"
        time.sleep(0.3)
