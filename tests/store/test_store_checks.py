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


def _problems(store) -> list[tuple]:
    query = (sql_dir() / "checks" / "posteriors_complete.sql").read_text()
    return [tuple(r.values()) for r in run_query(store, query).to_pylist()]


def _clips_of_fold(store, fold: int, split: str) -> list[str]:
    with store.session() as s:
        rows = s.fetch(
            "SELECT clip_id FROM posteriors WHERE run = 'zeror' AND fold = ? AND split = ? "
            "ORDER BY clip_id",
            [fold, split],
        )
    return [r[0] for r in rows]


def test_audit_finds_a_fold_without_posteriors(zeror_store) -> None:
    """A run missing all scores of one fold is incomplete (every clip of the fold is named)."""
    every = _clips_of_fold(zeror_store, 4, "test") + _clips_of_fold(zeror_store, 4, "train")
    assert every
    with zeror_store.session(write=True) as s:
        s.con.execute("DELETE FROM lake.posteriors WHERE fold = 4")
    problems = _problems(zeror_store)
    assert sorted((p[0], p[1], p[2]) for p in problems) == sorted(
        ("zeror", 4, clip) for clip in every
    )
    assert {p[3] for p in problems} == {"no test score", "no train score"}


def test_audit_finds_a_missing_clip_and_a_test_score_of_another_fold(zeror_store) -> None:
    train = _clips_of_fold(zeror_store, 0, "train")
    missing, moved = train[0], train[1]
    with zeror_store.session(write=True) as s:
        s.con.execute(
            "DELETE FROM lake.posteriors WHERE fold = 0 AND clip_id = ? AND split = 'train'",
            [missing],
        )
        # a training clip of fold 0 (a fold-4 actor) scored as a test clip of fold 0
        s.con.execute(
            "UPDATE lake.posteriors SET split = 'test' WHERE fold = 0 AND clip_id = ?", [moved]
        )
    assert sorted(_problems(zeror_store)) == [
        ("zeror", 0, missing, "no train score"),
        ("zeror", 0, moved, "test score, but its actor is not tested in this fold"),
    ]


def test_audit_finds_a_clip_scored_twice(zeror_store) -> None:
    clip = _clips_of_fold(zeror_store, 4, "test")[0]
    with zeror_store.session(write=True) as s:
        s.con.execute(
            "INSERT INTO lake.posteriors SELECT * FROM lake.posteriors "
            "WHERE fold = 4 AND clip_id = ?",
            [clip],
        )
    assert _problems(zeror_store) == [("zeror", 4, clip, "scored 2 times")]
