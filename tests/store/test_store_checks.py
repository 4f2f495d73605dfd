"""The audits in sql/checks return no rows on a store made by mmemo (and find real faults)."""

from __future__ import annotations

import pytest

from mmemo.resources import sql_dir
from mmemo.store.query import run_query

CHECKS = sorted(p.name for p in (sql_dir() / "checks").glob("*.sql"))


@pytest.mark.parametrize("check", CHECKS)
def test_audit_passes_on_a_trained_store(zeror_store, check: str) -> None:
    query = (sql_dir() / "checks" / check).read_text(encoding="utf-8")
    assert run_query(zeror_store, query).num_rows == 0


def test_audit_finds_an_actor_in_train_and_test(zeror_store) -> None:
    query = (sql_dir() / "checks" / "actor_not_in_train_and_test.sql").read_text()
    with zeror_store.session(write=True) as s:
        # A test clip of a fold also scored as a training clip of that fold: a leak.
        s.con.execute(
            "INSERT INTO lake.posteriors SELECT run_id, fold, 'train', clip_id, scores "
            "FROM lake.posteriors WHERE split = 'test' LIMIT 1"
        )
    assert run_query(zeror_store, query).num_rows == 1
