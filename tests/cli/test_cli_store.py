"""Store overview commands (tables, snapshots) and the CLI's error boundary."""

from __future__ import annotations

import pytest

from mmemo.testing.text import row_of


def test_tables_lists_views_lake_tables_and_registry_with_counts(cli, ingested_store):
    result = cli("--store", ingested_store.root, "tables")
    assert result.code == 0, result.err
    with ingested_store.session() as s:
        ingest_snapshot = s.current_snapshot()
    assert row_of(result.out, "clips")[1:3] == ["view", "624"]
    assert row_of(result.out, "posteriors")[1:3] == ["view", "0"]
    assert row_of(result.out, "lake.clips") == [
        "lake.clips",
        "lake table",
        "624",
        str(ingest_snapshot),
    ]
    assert row_of(result.out, "lake.posteriors")[1:3] == ["lake table", "0"]
    assert row_of(result.out, "ingests")[1:3] == ["registry", "1"]
    assert row_of(result.out, "runs")[1:3] == ["registry", "0"]


def test_snapshots_lists_versions_with_their_commit_messages(cli, ingested_store):
    result = cli("--store", ingested_store.root, "snapshots")
    assert result.code == 0, result.err
    assert "ingest 1: 624 ravdess clip version(s)" in result.out
    assert "lake schema 0001_core" in result.out
    with ingested_store.session() as s:
        newest = s.current_snapshot()
    first_row = next(line for line in result.out.splitlines() if "ingest 1" in line)
    assert row_of(first_row, str(newest))  # newest first, with its id


def test_snapshots_limit(cli, ingested_store):
    result = cli("--store", ingested_store.root, "snapshots", "--limit", "1")
    assert result.code == 0, result.err
    assert "ingest 1" in result.out
    assert "lake schema" not in result.out


def test_runs_on_a_store_without_runs(cli, ingested_store):
    result = cli("--store", ingested_store.root, "runs")
    assert result.code == 0, result.err
    assert "name" in result.out and "status" in result.out


@pytest.mark.parametrize("columns", ["80", "200"])
def test_an_error_is_one_red_line_on_stderr(cli, tmp_path, monkeypatch, columns):
    """Piped stderr is not a terminal: rich must not wrap the error over several lines."""
    monkeypatch.setenv("COLUMNS", columns)
    missing = tmp_path / ("a-store-folder-with-a-rather-long-name-" + "x" * 40)
    result = cli("--store", missing, "tables")
    assert result.code == 2
    assert result.out == ""
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    assert str(missing) in lines[0]


def test_usage_errors_exit_with_click_status(cli):
    result = cli("no-such-command")
    assert result.code == 2
    assert "no-such-command" in result.err_text


def test_ctrl_c_exits_130_with_a_message(cli, ingested_store, monkeypatch):
    from mmemo.store import inventory

    def interrupted(store):
        raise KeyboardInterrupt

    monkeypatch.setattr(inventory, "table_overview", interrupted)
    result = cli("--store", ingested_store.root, "tables")
    assert result.code == 130
    assert "interrupted" in result.err_text


def test_snapshots_show_changes_as_written(cli, ingested_store):
    """``changes`` holds brackets (``{tables_created=[main.clips, ...]}``): printed as text,
    not read as markup."""
    with ingested_store.session() as s:
        changes = [
            str(c) for (c,) in s.fetch("SELECT CAST(changes AS VARCHAR) FROM lake.snapshots()")
        ]
    created = next(c for c in changes if "tables_created=[" in c)
    names = created.split("tables_created=[", 1)[1].split("]", 1)[0].split(",")
    assert names and all(n.strip() for n in names)
    result = cli("--store", ingested_store.root, "snapshots")
    assert result.code == 0, result.err
    assert "tables_created=[" in result.out
    for name in names:
        assert name.strip() in result.out


def _zeror_run(cli, store, name: str) -> None:
    """A ZeroR run named ``name`` (renaming one by UPDATE is refused once its folds are
    recorded: DuckDB's foreign keys)."""
    made = cli("--store", store.root, "train", "static", "--model", "zeror", "--name", name)
    assert made.code == 0, made.err


def test_runs_table_prints_names_with_brackets_as_text(cli, zeror_store):
    _zeror_run(cli, zeror_store, "[red]zr[/red]")
    result = cli("--store", zeror_store.root, "runs")
    assert result.code == 0, result.err
    assert "[red]zr[/red]" in result.out


def test_report_and_errors_print_bracketed_names_as_written(cli, zeror_store):
    """Run names reach the report table, per-class titles and error messages as text."""
    _zeror_run(cli, zeror_store, "[bold]zr[/bold]")
    result = cli("--store", zeror_store.root, "report", "[bold]zr[/bold]", "--per-class")
    assert result.code == 0, result.err
    assert "[bold]zr[/bold]" in result.out
    missing = cli("--store", zeror_store.root, "report", "[red]nope[/red]")
    assert missing.code != 0
    assert "[red]nope[/red]" in missing.err
