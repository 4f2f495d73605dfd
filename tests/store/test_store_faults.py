"""Interrupted jobs: nothing half-done is visible, and ``mmemo gc`` cleans up after a crash."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

from mmemo.errors import InputError

KILLED_JOB = textwrap.dedent(
    """
    import os, signal, sys
    from mmemo.store.lifecycle import staged
    from mmemo.store.store import Store

    store = Store.open(sys.argv[1])
    fields = dict(
        name="killed", kind="train", model="zeror", params={}, inputs={}, scheme="luna2022",
        clips="av-speech", seed=1, classes=[1, 2], score_kind="probs", fold_seconds=[],
        artefacts=[], versions={}, device="cpu",
    )
    with staged(store, "runs", **fields) as entry:
        with store.session(write=True) as s:
            s.commit_lake(
                f"run {entry.id}: partial posteriors",
                lambda con: con.execute(
                    "INSERT INTO lake.posteriors "
                    "SELECT ?, 0, 'test', clip_id, [0.5, 0.5] FROM lake.clips LIMIT 7",
                    [entry.id],
                ),
            )
        (store.paths.models / f"run-{entry.id}").mkdir()
        (store.paths.models / f"run-{entry.id}" / "fold-0.joblib").write_bytes(b"half")
        print(entry.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.fixture(scope="module")
def _crashed_store_restore(_ingested_store_restore, backend):
    """Template of ``crashed_store``: the job is killed once for the module, and each test
    gets a copy of the store it left."""
    from mmemo.testing.stores import restorable

    work = _ingested_store_restore()  # shares the ingested store's path (see conftest)
    job = subprocess.run(
        [sys.executable, "-c", KILLED_JOB, str(work)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert job.returncode == -signal.SIGKILL, job.stderr
    run_id = int(job.stdout.strip())
    return restorable(work, work.parent / "crashed-template", backend), run_id


@pytest.fixture()
def crashed_store(_crashed_store_restore):
    """The ingested store after a job was SIGKILLed between its lake commit and completion,
    and the id of its run."""
    from mmemo.store.store import Store

    restore, run_id = _crashed_store_restore
    return Store.open(restore()), run_id


def count(store, query: str, params=None) -> int:
    with store.session() as s:
        return s.fetch(query, params)[0][0]


def test_a_killed_job_leaves_no_visible_rows(crashed_store, cli):
    store, run_id = crashed_store
    assert count(store, "SELECT count(*) FROM posteriors") == 0
    assert count(store, "SELECT count(*) FROM predictions") == 0
    assert count(store, "SELECT count(*) FROM lake.posteriors WHERE run_id = ?", [run_id]) == 7
    assert count(store, "SELECT count(*) FROM runs WHERE status = 'running'") == 1
    report = cli("--store", store.root, "report", "killed")
    assert report.code == 2
    assert "no complete run matches 'killed'" in report.err_text


def test_the_name_of_a_killed_run_points_at_gc(crashed_store, cli):
    store, _ = crashed_store
    result = cli("--store", store.root, "train", "static", "--model", "zeror", "--name", "killed")
    assert result.code == 2
    assert "interrupted" in result.err_text and "mmemo gc" in result.err_text


def test_gc_removes_what_a_killed_job_left(crashed_store, cli, store_state):
    store, run_id = crashed_store
    result = cli("--store", store.root, "gc")
    assert result.code == 0, result.err
    assert "removed 1 unfinished runs" in result.out_text
    assert "7 hidden lake row(s)" in result.out_text
    assert "1 orphan model folder(s)" in result.out_text
    assert count(store, "SELECT count(*) FROM lake.posteriors") == 0
    assert count(store, "SELECT count(*) FROM runs") == 0
    assert not (store.paths.models / f"run-{run_id}").exists()
    assert count(store, "SELECT count(*) FROM clips") == 624  # nothing else touched

    before = store_state(store)
    again = cli("--store", store.root, "gc")
    assert again.code == 0, again.err
    assert "nothing to clean" in again.out_text
    assert store_state(store) == before


def test_gc_leaves_a_live_jobs_entry_alone(ingested_store):
    from mmemo.store.gc import collect_garbage
    from mmemo.store.lifecycle import staged

    fields = dict(
        name="live",
        kind="train",
        model="zeror",
        params={},
        inputs={},
        scheme="luna2022",
        clips="av-speech",
        seed=1,
        classes=[],
        score_kind="",
        fold_seconds=[],
        artefacts=[],
        versions={},
        device="cpu",
    )
    with staged(ingested_store, "runs", **fields) as entry:
        result = collect_garbage(ingested_store)
        assert result.entries["runs"] == []
        assert count(ingested_store, "SELECT count(*) FROM runs WHERE id = ?", [entry.id]) == 1
    # the body finished without committing: the entry is discarded on the way out
    assert count(ingested_store, "SELECT count(*) FROM runs") == 0


def train_zeror(root, name: str) -> tuple[str, ...]:
    """CLI arguments of a ZeroR run trained in this process (``--jobs 1``: no worker processes,
    so monkeypatched functions are the ones called)."""
    return ("--store", root, "train", "static", "--model", "zeror", "--jobs", "1", "--name", name)


@pytest.fixture()
def scheme_recorded(cli, ingested_store):
    """The luna2022 folds recorded (first use of a scheme fixes it in the registry)."""
    result = cli("--store", ingested_store.root, "folds", "show", "luna2022")
    assert result.code == 0, result.err
    return ingested_store


def raising_after(real, exception: BaseException, calls_before: int = 1):
    """``real``, except that the call after ``calls_before`` calls raises ``exception``."""
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) > calls_before:
            raise exception
        return real(*args, **kwargs)

    return wrapper


def assert_untouched(store, before, store_state) -> None:
    assert store_state(store) == before
    assert list(store.paths.models.glob("run-*")) == []
    assert not store.paths.holder.exists()


def test_ctrl_c_in_a_models_fit_leaves_the_store_as_it_was(
    cli, scheme_recorded, store_state, monkeypatch
):
    from mmemo.models import sklearn_static

    store = scheme_recorded
    before = store_state(store)
    fit = raising_after(sklearn_static.fit_fold, KeyboardInterrupt())
    monkeypatch.setattr(sklearn_static, "fit_fold", fit)
    result = cli(*train_zeror(store.root, "interrupted"))
    assert_untouched(store, before, store_state)
    assert result.code == 130
    assert "interrupted" in result.err_text


def test_an_exception_in_a_models_fit_leaves_the_store_as_it_was(
    scheme_recorded, store_state, monkeypatch
):
    from mmemo.jobs.specs import StaticSpec
    from mmemo.jobs.static import train_static
    from mmemo.models import sklearn_static

    store = scheme_recorded
    before = store_state(store)
    fit = raising_after(sklearn_static.fit_fold, RuntimeError("fit exploded"))
    monkeypatch.setattr(sklearn_static, "fit_fold", fit)
    with pytest.raises(RuntimeError, match="fit exploded"):
        train_static(store, StaticSpec.one(name="boom", model="zeror", clips="av-speech"))
    assert_untouched(store, before, store_state)


def test_a_library_error_in_a_models_fit_is_exit_2_and_leaves_the_store(
    cli, scheme_recorded, store_state, monkeypatch
):
    from mmemo.models import sklearn_static

    store = scheme_recorded
    before = store_state(store)
    fit = raising_after(sklearn_static.fit_fold, InputError("bad fold data"))
    monkeypatch.setattr(sklearn_static, "fit_fold", fit)
    result = cli(*train_zeror(store.root, "bad"))
    assert result.code == 2
    assert "bad fold data" in result.err_text
    assert_untouched(store, before, store_state)


def test_ctrl_c_after_the_artefacts_are_saved_removes_them(
    cli, scheme_recorded, store_state, monkeypatch
):
    from mmemo.jobs import shared_runs

    store = scheme_recorded
    before = store_state(store)
    monkeypatch.setattr(
        shared_runs, "posteriors", raising_after(shared_runs.posteriors, KeyboardInterrupt(), 0)
    )
    result = cli(*train_zeror(store.root, "interrupted"))
    assert_untouched(store, before, store_state)
    assert result.code == 130


def test_ctrl_c_between_lake_commit_and_completion_hides_and_removes_the_rows(
    cli, scheme_recorded, store_state, monkeypatch
):
    """The lake commit is history (a new snapshot removes its rows), everything else is back."""
    from mmemo.jobs import shared_runs

    store = scheme_recorded
    before = store_state(store)
    monkeypatch.setattr(
        shared_runs, "complete", raising_after(shared_runs.complete, KeyboardInterrupt(), 0)
    )
    result = cli(*train_zeror(store.root, "interrupted"))
    after = store_state(store)
    assert after.pop("snapshot") > before.pop("snapshot")
    assert after == before
    assert list(store.paths.models.glob("run-*")) == []
    with store.session() as s:
        assert s.fetch("SELECT count(*) FROM lake.posteriors") == [(0,)]
    assert result.code == 130
