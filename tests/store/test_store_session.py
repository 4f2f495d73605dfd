"""A session's views and vocabulary are made on first use, in a transaction of their own when
none is open; made inside another transaction (the ORM's, a lake commit's), they do not abort it
and are made again if it rolls back."""

from __future__ import annotations

import duckdb
import pytest
import sqlalchemy as sa

from mmemo.store.schema import Ingest


def _ingests(orm) -> int:
    return len(orm.scalars(sa.select(Ingest)).all())


def test_views_made_inside_the_orms_transaction_leave_it_usable_and_outlive_its_rollback(
    ingested_store,
):
    with ingested_store.session() as s:
        with s.orm() as orm:
            assert _ingests(orm) == 1  # the ORM's transaction is open from here
            assert s.fetch("SELECT count(*) FROM clips") == [(624,)]
            assert _ingests(orm) == 1  # and was not aborted by the views
        # the ORM session closed with a rollback, which took the views with it
        assert s.fetch("SELECT count(*) FROM clips") == [(624,)]
        assert s.fetch("SELECT count(*) FROM emotions") == [(8,)]


def test_views_made_in_a_lake_commit_that_fails_are_made_again(ingested_store):
    def write(con: duckdb.DuckDBPyConnection) -> None:
        session.ensure_views()
        raise ValueError("bad rows")

    with ingested_store.session(write=True) as session:
        with pytest.raises(ValueError, match="bad rows"):
            session.commit_lake("test rows", write)
        assert session.fetch("SELECT count(*) FROM clips") == [(624,)]


def test_views_of_their_own_transaction_stay_for_the_whole_session(ingested_store):
    with ingested_store.session() as s:
        assert s.fetch("SELECT count(*) FROM clips") == [(624,)]
        with s.orm() as orm:
            assert _ingests(orm) == 1
        assert s.fetch("SELECT count(DISTINCT actor) FROM clips") == [(2,)]
