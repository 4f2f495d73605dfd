"""``mmemo sql``: read-only by default, output formats, files, time travel."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

N_CLIPS = 624  # the session corpus: actors 1-2, every file


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM lake.clips",
        "INSERT INTO lake.clips SELECT * FROM lake.clips LIMIT 1",
        "UPDATE runs SET name = 'x'",
        "DROP TABLE lake.posteriors",
    ],
)
def test_sql_refuses_changes_without_write(cli, ingested_store, store_state, statement):
    before = store_state(ingested_store)
    result = cli("--store", ingested_store.root, "sql", statement)
    assert result.code == 2
    assert "read-only" in result.err_text
    assert "--write" in result.err_text
    assert store_state(ingested_store) == before


@pytest.mark.parametrize(
    "statement",
    [
        "DROP VIEW clips",
        "DROP VIEW predictions; SELECT 1",
        "ALTER VIEW clips RENAME TO old_clips",
        "CREATE OR REPLACE TEMP VIEW clips AS SELECT 1 AS clip_id",
        "DROP VIEW clips; SELECT count(*) FROM clips",
    ],
)
def test_sql_refuses_changes_to_the_views_without_write(
    cli, ingested_store, store_state, statement
):
    """The views are the store's too: dropping or replacing one is a change, refused like
    any other (it would only last until the store is opened again)."""
    before = store_state(ingested_store)
    result = cli("--store", ingested_store.root, "sql", statement)
    assert result.code == 2
    assert "read-only" in result.err_text and "--write" in result.err_text
    assert "done" not in result.err_text
    assert len(result.err_text.strip().splitlines()) == 1
    assert store_state(ingested_store) == before


@pytest.mark.parametrize("query", ["", "   ", ";", "/* only a comment */"])
def test_sql_empty_query_is_refused(cli, ingested_store, tmp_path, query):
    result = cli("--store", ingested_store.root, "sql", query)
    assert result.code == 2
    assert "empty query: give a SQL statement or -f FILE" in result.err_text
    query_file = tmp_path / "empty.sql"
    query_file.write_text(f"-- a header and nothing else\n{query}\n")
    from_file = cli("--store", ingested_store.root, "sql", "-f", query_file)
    assert from_file.code == 2
    assert "empty query" in from_file.err_text and "empty.sql" in from_file.err_text


def test_sql_scratch_objects_of_the_user_need_no_write(cli, ingested_store):
    """Temporary tables and views the query makes itself change nothing of the store."""
    query = (
        "CREATE TEMP VIEW mine AS SELECT 1 AS x; DROP VIEW mine; "
        "CREATE TEMP TABLE t AS SELECT 2 AS x; SELECT x FROM t"
    )
    result = cli("--store", ingested_store.root, "sql", query, "--format", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == [{"x": 2}]


def test_sql_write_changes_the_store_with_write(cli, ingested_store, store_state):
    before = store_state(ingested_store)
    where = "actor = 1 AND modality = 3"
    result = cli(
        "--store", ingested_store.root, "sql", "--write", f"DELETE FROM lake.clips WHERE {where}"
    )
    assert result.code == 0, result.err
    after = store_state(ingested_store)
    assert after["snapshot"] == before["snapshot"] + 1
    assert after["lake.clips"] == (N_CLIPS - 104,)
    query = "SELECT count(*) AS n FROM clips"
    counted = cli("--store", ingested_store.root, "sql", query, "--format", "json")
    assert json.loads(counted.out) == [{"n": N_CLIPS - 104}]


def test_sql_error_is_one_line_exit_2(cli, ingested_store):
    result = cli("--store", ingested_store.root, "sql", "SELECT nope FROM clips")
    assert result.code == 2
    assert "SQL error" in result.err_text and "nope" in result.err_text


def test_sql_needs_exactly_one_of_query_or_file(cli, ingested_store, tmp_path):
    none = cli("--store", ingested_store.root, "sql")
    assert none.code == 2 and "QUERY or -f FILE" in none.err_text
    query_file = tmp_path / "q.sql"
    query_file.write_text("SELECT 1")
    both = cli("--store", ingested_store.root, "sql", "SELECT 1", "-f", query_file)
    assert both.code == 2 and "QUERY or -f FILE" in both.err_text


def test_sql_plain_names_reach_views_lake_and_registry(cli, ingested_store):
    query = (
        "SELECT (SELECT count(*) FROM clips) AS clips, (SELECT count(*) FROM ingests) AS ingests, "
        "(SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM posteriors) AS posteriors, "
        "(SELECT count(*) FROM lake.clips) AS lake_clips"
    )
    result = cli("--store", ingested_store.root, "sql", query, "--format", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == [
        {"clips": N_CLIPS, "ingests": 1, "runs": 0, "posteriors": 0, "lake_clips": N_CLIPS}
    ]


QUERY = "SELECT label, count(*) AS n FROM clips WHERE modality = 1 GROUP BY label ORDER BY label"
EXPECTED = {
    "angry": 32,
    "calm": 32,
    "disgust": 16,
    "fearful": 32,
    "happy": 32,
    "neutral": 16,
    "sad": 32,
    "surprised": 16,
}


def test_sql_default_output_is_a_table(cli, ingested_store):
    result = cli("--store", ingested_store.root, "sql", QUERY)
    assert result.code == 0, result.err
    assert "label" in result.out and "surprised" in result.out
    assert "8 row(s)" in result.out


def test_sql_csv(cli, ingested_store):
    result = cli("--store", ingested_store.root, "sql", QUERY, "--format", "csv")
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert {r["label"]: int(r["n"]) for r in rows} == EXPECTED


def test_sql_json(cli, ingested_store):
    result = cli("--store", ingested_store.root, "sql", QUERY, "--format", "json")
    assert result.code == 0, result.err
    assert {r["label"]: r["n"] for r in json.loads(result.out)} == EXPECTED


def test_sql_markdown(cli, ingested_store):
    result = cli("--store", ingested_store.root, "sql", QUERY, "--format", "markdown")
    assert result.code == 0, result.err
    lines = result.out.strip().splitlines()
    assert lines[0] == "| label | n |"
    assert lines[1].startswith("|---|")
    assert "| neutral | 16 |" in lines
    assert len(lines) == 2 + len(EXPECTED)


def test_sql_parquet_to_out(cli, ingested_store, tmp_path):
    out = tmp_path / "labels.parquet"
    result = cli("--store", ingested_store.root, "sql", QUERY, "--format", "parquet", "--out", out)
    assert result.code == 0, result.err
    table = pq.read_table(out)
    assert dict(zip(table["label"].to_pylist(), table["n"].to_pylist(), strict=True)) == EXPECTED


def test_sql_parquet_needs_out(cli, ingested_store):
    result = cli("--store", ingested_store.root, "sql", QUERY, "--format", "parquet")
    assert result.code == 2
    assert "--out" in result.err_text


def test_sql_csv_to_out_file(cli, ingested_store, tmp_path):
    out = tmp_path / "labels.csv"
    result = cli("--store", ingested_store.root, "sql", QUERY, "--format", "csv", "--out", out)
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {r["label"]: int(r["n"]) for r in rows} == EXPECTED


def test_sql_unknown_format(cli, ingested_store):
    result = cli("--store", ingested_store.root, "sql", QUERY, "--format", "xml")
    assert result.code == 2
    assert "xml" in result.err_text and "csv" in result.err_text


def test_sql_from_file(cli, ingested_store, tmp_path):
    query_file = tmp_path / "labels.sql"
    query_file.write_text(f"-- labels of full-AV clips\n{QUERY};\n")
    result = cli("--store", ingested_store.root, "sql", "-f", query_file, "--format", "json")
    assert result.code == 0, result.err
    assert {r["label"]: r["n"] for r in json.loads(result.out)} == EXPECTED


def test_sql_missing_file(cli, ingested_store, tmp_path):
    result = cli("--store", ingested_store.root, "sql", "-f", tmp_path / "missing.sql")
    assert result.code == 2
    assert "missing.sql" in result.err_text


@pytest.mark.slow
def test_sql_time_travel_with_ducklake_syntax(cli, ingested_store):
    root = ingested_store.root
    latest = cli(
        "--store",
        root,
        "sql",
        "SELECT max(snapshot_id) AS s FROM lake.snapshots()",
        "--format",
        "json",
    )
    ingest_snapshot = json.loads(latest.out)[0]["s"]
    assert (
        cli("--store", root, "sql", "--write", "DELETE FROM lake.clips WHERE modality = 2").code
        == 0
    )

    def count_at(version: int) -> int:
        query = f"SELECT count(*) AS n FROM lake.clips AT (VERSION => {version})"
        result = cli("--store", root, "sql", query, "--format", "json")
        assert result.code == 0, result.err
        return json.loads(result.out)[0]["n"]

    assert count_at(ingest_snapshot - 1) == 0
    assert count_at(ingest_snapshot) == N_CLIPS
    assert count_at(ingest_snapshot + 1) == N_CLIPS - 208


def test_sql_multiple_statements_return_the_last_result(cli, ingested_store):
    result = cli(
        "--store",
        ingested_store.root,
        "sql",
        "CREATE TEMP TABLE t AS SELECT 41 AS x; SELECT x + 1 AS y FROM t",
        "--format",
        "json",
    )
    assert result.code == 0, result.err
    assert json.loads(result.out) == [{"y": 42}]


def test_sql_table_cells_and_headers_are_text_not_markup(cli, ingested_store):
    """Values and column names with brackets are printed as written; a long list (shortened
    to its first 8 items, as the ``always_wrong`` recipe's ``run:label`` lists) too."""
    runs = [f"bilstm{i}:calm" for i in range(9)]
    query = (
        "SELECT '[red]x[/red]' AS \"[b]head[/b]\", '[bilstm:calm, mlp:sad]' AS p, "
        f"{runs!r} AS predictions"
    )
    result = cli("--store", ingested_store.root, "sql", query)
    assert result.code == 0, result.err
    for text in ("[b]head[/b]", "[red]x[/red]", "[bilstm:calm, mlp:sad]", "[bilstm0:calm,"):
        assert text in result.out
    assert all(run in result.out for run in runs[:8])


def test_sql_always_wrong_recipe_prints_the_predictions(cli, zeror_store):
    """The recipe's ``predictions`` column lists ``run:label``: each one is printed."""
    recipe = Path(__file__).parents[2] / "sql" / "analysis" / "always_wrong.sql"
    as_json = cli("--store", zeror_store.root, "sql", "-f", recipe, "--format", "json")
    assert as_json.code == 0, as_json.err
    rows = json.loads(as_json.out)
    assert rows and all(r["predictions"] for r in rows)
    table = cli("--store", zeror_store.root, "sql", "-f", recipe)
    assert table.code == 0, table.err
    lines = {line for line in table.out.splitlines() if rows[0]["clip_id"] in line}
    assert len(lines) == 1
    for prediction in rows[0]["predictions"]:
        assert prediction in lines.pop()


def test_sql_recipe_by_name_and_by_folder(cli, zeror_store):
    """``-f`` takes a recipe's name or ``folder/name``: the packaged file, from any folder."""
    by_path = Path(__file__).parents[2] / "sql" / "analysis" / "accuracy_by_actor.sql"
    expected = cli("--store", zeror_store.root, "sql", "-f", by_path, "--format", "json")
    assert expected.code == 0, expected.err
    assert json.loads(expected.out)
    for name in ("accuracy_by_actor", "analysis/accuracy_by_actor", "accuracy_by_actor.sql"):
        result = cli("--store", zeror_store.root, "sql", "-f", name, "--format", "json")
        assert result.code == 0, result.err
        assert json.loads(result.out) == json.loads(expected.out), name


def test_sql_unknown_recipe_suggests_the_closest(cli, ingested_store):
    result = cli("--store", ingested_store.root, "sql", "-f", "acuracy_by_actor")
    assert result.code == 2
    assert "no file or recipe 'acuracy_by_actor' (did you mean 'accuracy_by_actor'?)" in (
        result.err_text
    )
    assert "mmemo sql --list" in result.err_text


def test_sql_list_shows_the_recipes_with_their_description(cli, ingested_store):
    result = cli("--store", ingested_store.root, "sql", "--list")
    assert result.code == 0, result.err
    for name in ("accuracy_by_actor", "always_wrong", "fusion_input", "posteriors_complete"):
        assert name in result.out
    assert "10_clips" not in result.out  # the store's own views are not recipes
    assert "Test accuracy (%)" in result.out


def test_sql_help_names_only_recipes_that_exist(cli):
    from mmemo.resources import sql_dir
    from mmemo.store.recipes import find_recipe

    result = cli("sql", "--help")
    assert result.code == 0
    assert "per_actor_accuracy" not in result.out
    for name in ("accuracy_by_actor", "fusion_input"):
        assert name in result.out
        assert find_recipe(name).path.is_relative_to(sql_dir())


def test_sql_recipe_parameters_are_bound(cli, zeror_store):
    """``fusion_input`` takes ``$runs``: one run given as text is a one-item list."""
    root = zeror_store.root
    missing = cli("--store", root, "sql", "-f", "fusion_input")
    assert missing.code == 2
    assert "recipe 'fusion_input' needs --param for $runs (list of run names" in missing.err_text
    for value in ("zeror", '["zeror"]'):
        result = cli(
            "--store",
            root,
            "sql",
            "-f",
            "fusion_input",
            "--param",
            f"runs={value}",
            "--format",
            "json",
        )
        assert result.code == 0, result.err
        rows = json.loads(result.out)
        assert len(rows) == 240  # 120 clips, each a test clip once and a training clip once
        assert {len(r["features"]) for r in rows} == {8}
    unknown = cli("--store", root, "sql", "-f", "fusion_input", "--param", "run=zeror")
    assert unknown.code == 2
    assert "has no parameter run; its parameters: runs" in unknown.err_text


def test_sql_parameters_of_a_typed_query(cli, ingested_store):
    result = cli(
        "--store",
        ingested_store.root,
        "sql",
        "SELECT count(*) AS n FROM clips WHERE list_contains($actors, actor) AND modality = $m",
        "--param",
        "actors=1,2",
        "--param",
        "m=1",
        "--format",
        "json",
    )
    assert result.code == 0, result.err
    assert json.loads(result.out) == [{"n": 2 * 104}]


def test_sql_write_labels_its_snapshot(cli, ingested_store):
    root = ingested_store.root
    query = "DELETE FROM lake.clips WHERE vocal_channel = 2;\nSELECT 1 AS done"
    result = cli("--store", root, "sql", "--write", query)
    assert result.code == 0, result.err
    newest = cli(
        "--store",
        root,
        "sql",
        "SELECT commit_message FROM lake.snapshots() ORDER BY snapshot_id DESC LIMIT 1",
        "--format",
        "json",
    )
    message = "mmemo sql --write: DELETE FROM lake.clips WHERE vocal_channel = 2;"
    assert json.loads(newest.out) == [{"commit_message": message}]
