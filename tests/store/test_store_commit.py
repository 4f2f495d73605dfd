"""Lake commits: a conflicting commit is retried with back-off and reported if it keeps
failing; nothing of a failed commit stays."""

from __future__ import annotations

import duckdb
import pytest

from mmemo.errors import StoreError
from mmemo.store import retry as retry_module


@pytest.fixture()
def sleeps(monkeypatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr(retry_module.time, "sleep", waited.append)
    return waited


def test_a_commit_that_keeps_conflicting_is_retried_then_reported(store, monkeypatch, sleeps):
    monkeypatch.setenv("MMEMO_COMMIT_RETRIES", "2")
    attempts = []

    def write(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("INSERT INTO lake.posteriors (run_id, fold, split, clip_id, scores) "
                    "VALUES (99, 0, 'test', 'x', [1.0])")  # fmt: skip
        attempts.append(1)
        raise duckdb.TransactionException("Transaction conflict: another writer won")

    with store.session(write=True) as s:
        before = s.current_snapshot()
        with pytest.raises(StoreError, match=r"kept conflicting.*3 attempts.*MMEMO_COMMIT_RETRIES"):
            s.commit_lake("test rows", write)
        assert s.current_snapshot() == before
        assert s.fetch("SELECT count(*) FROM lake.posteriors") == [(0,)]
    assert len(attempts) == 3
    assert len(sleeps) == 2 and 0.2 <= sleeps[0] <= 0.4 <= sleeps[1] <= 0.8  # back-off


def test_a_conflict_that_clears_is_committed_once(store, sleeps):
    attempts = []

    def write(con: duckdb.DuckDBPyConnection) -> None:
        attempts.append(1)
        con.execute("INSERT INTO lake.posteriors (run_id, fold, split, clip_id, scores) "
                    "VALUES (99, 0, 'test', 'x', [1.0])")  # fmt: skip
        if len(attempts) == 1:
            raise duckdb.TransactionException("Transaction conflict")

    with store.session(write=True) as s:
        snapshot = s.commit_lake("test rows", write)
        assert snapshot == s.current_snapshot()
        assert s.fetch("SELECT count(*) FROM lake.posteriors") == [(1,)]
    assert len(attempts) == 2 and len(sleeps) == 1


def test_other_errors_are_not_retried(store, sleeps):
    def write(con: duckdb.DuckDBPyConnection) -> None:
        raise ValueError("bad rows")

    with store.session(write=True) as s, pytest.raises(ValueError):
        s.commit_lake("test rows", write)
    assert sleeps == []


def test_a_bad_retry_count_is_a_one_line_error(store, monkeypatch):
    monkeypatch.setenv("MMEMO_COMMIT_RETRIES", "-1")
    with store.session(write=True) as s, pytest.raises(StoreError, match="whole number"):
        s.commit_lake("test rows", lambda con: None)
