"""Store fixtures for tests: build a store once, hand out fresh copies of it.

A local store is a folder. A team store is a folder with its ``mmemo.toml`` plus a PostgreSQL
database (registry and lake catalog) and an S3 prefix (lake files and models); copies of it
are made with ``CREATE DATABASE ... TEMPLATE`` and server-side object copies.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mmemo.store.config import StoreConfig, load_config
from mmemo.testing.servers import PostgresServer, S3Server


@dataclass(frozen=True)
class TeamBackends:
    """A PostgreSQL server and an S3 bucket that team stores of the tests live in."""

    postgres: PostgresServer
    s3: S3Server
    bucket: str = "mmemo-tests"

    def config(self, name: str) -> StoreConfig:
        """A new empty database and S3 prefix ``name`` as a store config."""
        name = _identifier(name)
        url = self.postgres.create_database(name)
        config = StoreConfig(registry=url, catalog=url, data=f"s3://{self.bucket}/{name}")
        return config.check(name)

    def copy(self, source: str, target: str) -> None:
        """Make database and prefix ``target`` an exact copy of ``source`` (replacing it)."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(
            self.postgres.libpq("postgres"), password=self.postgres.password, autocommit=True
        ) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(target))
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(target), sql.Identifier(source)
                )
            )
        client = self.s3.client()
        self._delete_prefix(client, target)
        for key in self._keys(client, source):
            client.copy_object(
                Bucket=self.bucket,
                Key=target + key[len(source) :],
                CopySource={"Bucket": self.bucket, "Key": key},
            )

    def _keys(self, client, prefix: str) -> list[str]:
        keys = []
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{prefix}/"
        ):
            keys += [o["Key"] for o in page.get("Contents", [])]
        return keys

    def _delete_prefix(self, client, prefix: str) -> None:
        keys = self._keys(client, prefix)
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": k} for k in keys[start : start + 1000]]
            client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk})


def _identifier(name: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", name.lower())[:60]


def init_store(work: Path, backends: TeamBackends | None):
    """A new store at ``work``: local, or (with ``backends``) a team store whose database and
    S3 prefix are named after ``work``'s parent folder."""
    from mmemo.store.store import Store

    return Store.init(work, backends.config(work.parent.name) if backends else None)


def restorable(
    work: Path, template: Path, backends: TeamBackends | None = None
) -> Callable[[], Path]:
    """Save the store ``work`` as ``template``; return a function that puts a fresh copy of it
    back at ``work`` (the same path and, for a team store, the same database and prefix,
    since a store records where it lives) and returns ``work``."""
    if template.exists():
        shutil.rmtree(template)
    shutil.copytree(work, template)
    shared = None
    if backends is not None:
        config = load_config(work)
        assert config.registry is not None, f"{work} is not a team store"
        live = urlsplit(config.registry).path.lstrip("/")
        saved = _identifier(f"{live}_{template.name}")
        backends.copy(live, saved)
        shared = (live, saved)

    def restore() -> Path:
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(template, work)
        if shared is not None:
            backends.copy(shared[1], shared[0])
        return work

    return restore


def query_rows(store, query: str) -> list[dict]:
    """The rows of ``query`` on a session of ``store``, each a dict by column name."""
    with store.session() as s:
        relation = s.sql(query)
        return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
