"""What the store holds: tables with row counts, lake snapshots, runs."""

from __future__ import annotations

from typing import Any

from mmemo.store.store import Store

#: Registry tables users may query by their plain names.
REGISTRY_TABLES = ("ingests", "runs", "feature_sets", "fold_assignments")


def table_overview(store: Store) -> list[tuple[Any, ...]]:
    """(name, kind, rows, latest snapshot) of the views, lake tables and registry tables; the
    snapshot is None where none applies (views, registry tables, a table never written)."""
    with store.session() as s:
        s.ensure_views()
        views = [
            r[0]
            for r in s.fetch(
                "SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal ORDER BY 1"
            )
        ]
        latest = _latest_snapshots(s)
        rows: list[tuple[Any, ...]] = []
        for view in views:
            rows.append((view, "view", _count(s, view), None))
        for table in s.lake_tables():
            count = _count(s, f"lake.{table}")
            rows.append((f"lake.{table}", "lake table", count, latest.get(table)))
        for table in REGISTRY_TABLES:
            rows.append((table, "registry", _count(s, table), None))
    return rows


def _count(session, name: str) -> int:
    return int(session.fetch(f"SELECT count(*) FROM {name}")[0][0])


def _latest_snapshots(session) -> dict[str, int]:
    """Newest snapshot that changed each lake table, read from the snapshots' change lists
    (which name a table by ``schema.name`` when created, by its id when written)."""
    keys = {}
    for name, _schema, table_id, *_ in session.fetch("FROM lake.table_info()"):
        keys[str(table_id)] = name
        keys[f"main.{name}"] = name
    latest: dict[str, int] = {}
    for snapshot, changes in session.fetch(
        "SELECT snapshot_id, changes FROM lake.snapshots() ORDER BY snapshot_id"
    ):
        for values in (changes or {}).values():
            for value in values or []:
                if str(value) in keys:
                    latest[keys[str(value)]] = snapshot
    return latest


def snapshot_list(store: Store, limit: int) -> list[tuple[Any, ...]]:
    with store.session() as s:
        return s.fetch(
            "SELECT snapshot_id, strftime(snapshot_time AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S'), "
            "commit_message, CAST(changes AS VARCHAR) FROM lake.snapshots() "
            "ORDER BY snapshot_id DESC LIMIT ?",
            [limit],
        )


def run_list(store: Store) -> list[tuple[Any, ...]]:
    with store.session() as s:
        return s.fetch(
            "SELECT name, model, scheme, clips, status, strftime(finished_at, '%Y-%m-%d %H:%M') "
            "FROM runs ORDER BY id"
        )
