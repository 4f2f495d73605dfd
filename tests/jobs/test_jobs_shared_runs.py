"""Runs whose folds several processes train (``--folds``): each stores its own folds, the run
completes with the last one and equals a single-process run; failures release only their own
folds; a fold is trained by one process at a time."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from mmemo.errors import InputError
from mmemo.store.schema import Run, RunFold

KFOLD2 = "kfold:2:2020"  # two actor-disjoint folds, one synthetic actor each

torch = pytest.importorskip("torch")

COMMON = dict(features="aus", scheme=KFOLD2, clips="av-speech", device="cpu", seed=5)
COMMON |= dict(early_stop_on="test", params={"max_epochs": 2})


def _train(store, name: str, folds: list[int] | None, **changes):
    from mmemo.jobs.deep import train_bilstm_job
    from mmemo.jobs.specs import BiLSTMSpec

    return train_bilstm_job(store, BiLSTMSpec(name=name, **(COMMON | changes)), folds=folds)


def _parts(store, name: str) -> list[tuple[int, str]]:
    with store.session() as s, s.orm() as orm:
        query = (
            sa.select(RunFold.fold, RunFold.status)
            .join(Run, Run.id == RunFold.run_id)
            .where(Run.name == name)
            .order_by(RunFold.fold)
        )
        return [tuple(r) for r in orm.execute(query)]


@pytest.mark.slow
def test_folds_stored_by_two_processes_make_the_run_a_single_process_makes(
    jobs_store, run_row, jobs_posteriors
) -> None:
    first = _train(jobs_store, "split", [1])
    assert first.snapshot_id is None and first.waiting == [0]
    assert run_row(jobs_store, "split").status == "running"
    assert jobs_posteriors(jobs_store, "split") == {}  # views show complete runs only

    second = _train(jobs_store, "split", [0])
    assert second.snapshot_id is not None and second.waiting == []
    whole = _train(jobs_store, "whole", None)
    split = jobs_posteriors(jobs_store, "split")
    assert len(split) == 240 and split == jobs_posteriors(jobs_store, "whole")
    run = run_row(jobs_store, "split")
    assert run.status == "complete" and run.n_clips == whole.n_clips == 120
    assert [a["fold"] for a in run.artefacts] == [0, 1]
    assert len(run.fold_seconds) == 2
    assert _parts(jobs_store, "split") == [(0, "complete"), (1, "complete")]
    with jobs_store.session() as s:
        attention = s.fetch("SELECT run, count(*) FROM attention GROUP BY run ORDER BY run")
    assert attention[0][1] == attention[1][1]  # the attention rows of both folds too


@pytest.mark.slow
def test_a_stored_fold_is_not_trained_again_and_other_settings_are_refused(
    jobs_store, run_row
) -> None:
    _train(jobs_store, "r", [0])
    again = _train(jobs_store, "r", [0])
    assert again.fold_seconds == [] and again.waiting == [1]
    with pytest.raises(InputError, match="other params"):
        _train(jobs_store, "r", [1], params={"max_epochs": 3})
    with pytest.raises(InputError, match="no test clips"):
        _train(jobs_store, "r", [7])
    _train(jobs_store, "r", [1])
    assert run_row(jobs_store, "r").status == "complete"
    with pytest.raises(InputError, match="already exists"):
        _train(jobs_store, "r", [1])


def test_a_fold_another_live_process_trains_is_refused(jobs_store) -> None:
    _train(jobs_store, "r", [0])
    with jobs_store.session(write=True) as s, s.orm() as orm:
        run_id = orm.scalars(sa.select(Run.id).where(Run.name == "r")).one()
        orm.add(RunFold(run_id=run_id, fold=1, status="running", pid=os.getppid(), host=_host()))
        orm.commit()
    with pytest.raises(InputError, match="fold 1 of run 'r' is being trained by process"):
        _train(jobs_store, "r", [1])


def _host() -> str:
    from mmemo.provenance import process_identity

    return process_identity()[1]


@pytest.mark.slow
def test_a_failing_process_releases_only_its_own_folds(jobs_store, monkeypatch) -> None:
    _train(jobs_store, "r", [0])
    from mmemo.jobs import shared_runs as parts

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(parts, "_complete_in", broken)  # after fold 1's rows are in
    with pytest.raises(RuntimeError, match="disk full"):
        _train(jobs_store, "r", [1])
    assert _parts(jobs_store, "r") == [(0, "complete")]
    with jobs_store.session() as s:
        folds = s.fetch(
            "SELECT DISTINCT fold FROM lake.posteriors p JOIN runs r ON r.id = p.run_id "
            "WHERE r.name = 'r'"
        )
    assert folds == [(0,)]
    monkeypatch.undo()
    assert _train(jobs_store, "r", [1]).snapshot_id is not None


def test_gc_releases_a_fold_whose_process_is_gone_and_keeps_the_others(
    jobs_store, store_cli
) -> None:
    _train(jobs_store, "r", [0])
    with jobs_store.session(write=True) as s, s.orm() as orm:
        run_id = orm.scalars(sa.select(Run.id).where(Run.name == "r")).one()
        orm.add(RunFold(run_id=run_id, fold=1, status="running", pid=2**22 + 17, host=_host()))
        orm.commit()
    result = store_cli(jobs_store, "gc")
    assert result.code == 0, result.err
    assert _parts(jobs_store, "r") == [(0, "complete")]  # the stored fold and the run stay


@pytest.mark.parametrize("backend", ["team"], indirect=True)
def test_two_hosts_train_their_folds_at_the_same_time(jobs_store, jobs_posteriors) -> None:
    command = [
        sys.executable, "-m", "mmemo", "--store", str(jobs_store.root), "train", "bilstm",
        "--features", "aus", "--name", "spread", "--scheme", KFOLD2, "--device", "cpu",
        "--seed", "5", "--early-stop-on", "test", "--param", "max_epochs=2",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    hosts = [
        subprocess.Popen(
            [*command, "--folds", str(f)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )  # fmt: skip
        for f in (0, 1)
    ]
    outputs = []
    for host in hosts:
        out, err = host.communicate(timeout=600)
        assert host.returncode == 0, out + err
        outputs.append(" ".join(out.split()))
    assert sum("-> snapshot" in o for o in outputs) >= 1
    _train(jobs_store, "whole", None)
    assert jobs_posteriors(jobs_store, "spread") == jobs_posteriors(jobs_store, "whole")


def test_a_run_one_process_is_making_cannot_be_joined_with_folds(jobs_store) -> None:
    _train(jobs_store, "r", [0])
    with jobs_store.session(write=True) as s, s.orm() as orm:
        orm.execute(sa.delete(RunFold))  # as if 'r' were a plain job of another process
        orm.execute(sa.update(Run).where(Run.name == "r").values(pid=os.getppid()))
        orm.commit()
    with pytest.raises(InputError, match="without --folds"):
        _train(jobs_store, "r", [1])
