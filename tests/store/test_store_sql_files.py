"""Every named ``.sql`` file of the package runs against a store with clips and a run."""

from __future__ import annotations

import pytest

from mmemo.resources import read_sql, sql_dir
from mmemo.store.recipes import read_header

SQL_FILES = sorted(
    p.relative_to(sql_dir()).as_posix()
    for folder in ("views", "checks", "analysis")
    for p in (sql_dir() / folder).glob("*.sql")
)

#: Values of the parameters of the files that take some (the fixture store's one run).
PARAMS = {"run_a": "zeror", "run_b": "zeror", "runs": ["zeror"]}


def test_there_are_view_files():
    assert any(name.startswith("views/") for name in SQL_FILES)


@pytest.mark.parametrize("name", SQL_FILES)
def test_sql_file_runs_on_the_fixture_store(zeror_store, name):
    params = {p: PARAMS[p] for p in read_header(sql_dir() / name, name).parameters}
    with zeror_store.session() as s:
        relation = s.sql(read_sql(name), params or None)
        if relation is not None:
            relation.fetchall()


def test_views_show_the_run(zeror_store):
    with zeror_store.session() as s:
        folds = s.fetch("SELECT scheme, fold, count(*) FROM folds GROUP BY ALL ORDER BY ALL")
        accuracy = s.fetch(
            "SELECT run, fold, n, round(accuracy, 2) FROM fold_accuracy ORDER BY fold"
        )
        predictions = s.fetch("SELECT count(*), count(DISTINCT clip_id) FROM predictions")
    assert folds == [("luna2022", 0, 312), ("luna2022", 4, 312)]
    assert accuracy == [("zeror", 0, 60, 13.33), ("zeror", 4, 60, 13.33)]
    assert predictions == [(240, 120)]


def test_lake_ddl_files_are_applied_in_order(zeror_store):
    names = sorted(p.stem for p in (sql_dir() / "lake").glob("*.sql"))
    with zeror_store.session() as s:
        applied = [r[0] for r in s.fetch("SELECT name FROM lake_migrations ORDER BY name")]
    assert applied == names


def _header_names(path) -> list[str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("-- name: "), f"{path}: no '-- name:' header on its first line"
    return [n.strip() for n in first.removeprefix("-- name: ").split(",")]


def test_every_sql_file_has_a_name_header_and_names_are_unique():
    """Each ``.sql`` file starts with ``-- name: a, b``; no name appears twice in sql/."""
    seen: dict[str, str] = {}
    files = sorted(sql_dir().rglob("*.sql"))
    assert len(files) > 20
    for path in files:
        for name in _header_names(path):
            where = path.relative_to(sql_dir()).as_posix()
            assert name and name not in seen, f"'{name}' in {where} and {seen.get(name)}"
            seen[name] = where


def test_view_headers_name_the_views_they_create():
    import re

    for path in sorted((sql_dir() / "views").glob("*.sql")):
        created = re.findall(r"CREATE OR REPLACE TEMP VIEW (\w+)", path.read_text())
        assert created == _header_names(path), path.name


def test_test_predictions_are_the_test_rows_of_predictions_with_clip_metadata(zeror_store):
    with zeror_store.session() as s:
        columns = [r[0] for r in s.fetch("SELECT column_name FROM (DESCRIBE test_predictions)")]
        rows = s.fetch("SELECT * FROM test_predictions ORDER BY fold, clip_id")
        expected = s.fetch(
            "SELECT p.run, p.run_id, p.fold, p.clip_id, c.emotion, c.label, p.predicted_emotion, "
            "p.predicted_label, p.confidence, p.predicted_emotion = c.emotion, c.actor, c.gender, "
            "c.intensity, c.statement, c.repetition, c.modality, c.vocal_channel "
            "FROM scored AS p JOIN lake.clips AS c USING (clip_id) WHERE p.split = 'test' "
            "ORDER BY p.fold, p.clip_id"
        )
    assert columns == [
        "run",
        "run_id",
        "fold",
        "clip_id",
        "true_emotion",
        "true_label",
        "predicted_emotion",
        "predicted_label",
        "confidence",
        "correct",
        "actor",
        "gender",
        "intensity",
        "statement",
        "repetition",
        "modality",
        "vocal_channel",
    ]
    assert len(rows) == 120 and rows == expected
