"""Sharded feature jobs on a team store (PostgreSQL + S3): N processes each make their slice
of one feature set, and the finished set equals what a single process makes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TEAM = pytest.mark.parametrize("backend", ["team"], indirect=True)


def _mmemo(store: Path, *args: object) -> subprocess.Popen[str]:
    """``mmemo --store STORE ARGS`` in its own process (the environment points at S3)."""
    return subprocess.Popen(
        [sys.executable, "-m", "mmemo", "--store", str(store), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1"},
    )


def _finish(process: subprocess.Popen[str], timeout: float = 300) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, out + err
    return out


@TEAM
def test_two_shards_in_parallel_processes_equal_a_single_run(
    feat_store, store_cli, tiny_w2v2, one_torch_thread
) -> None:
    tiny = tiny_w2v2[True]
    clips = "modality = 1 AND vocal_channel = 1 AND statement = 1"
    shards = [
        _mmemo(feat_store.root, "embed", tiny, "--name", "sharded", "--clips", clips, "--shard", s)
        for s in ("0/2", "1/2")
    ]
    outputs = [_finish(p) for p in shards]
    assert sum("set complete" in " ".join(o.split()) for o in outputs) >= 1
    single = store_cli(feat_store, "embed", tiny, "--name", "single", "--clips", clips)
    assert single.code == 0, single.err

    with feat_store.session() as s:
        sets = s.fetch("SELECT name, status, n_clips FROM feature_sets ORDER BY name")
        assert sets == [("sharded", "complete", 60), ("single", "complete", 60)]
        rows = {
            name: s.fetch(
                "SELECT v.clip_id, v.ordinal, v.vector FROM lake.clip_embeddings v "
                "JOIN feature_sets f ON f.id = v.feature_set_id WHERE f.name = ? "
                "ORDER BY v.clip_id",
                [name],
            )
            for name in ("sharded", "single")
        }
        shard_rows = s.fetch("SELECT shard, shards FROM feature_set_shards ORDER BY shard")
    assert len(rows["sharded"]) == 60
    assert rows["sharded"] == rows["single"]  # row by row: clip, ordinal and every float
    assert shard_rows == [(0, 2), (1, 2)]


@TEAM
def test_openface_shards_make_the_set_a_single_ingest_makes(
    feat_store, store_cli, synth_corpus
) -> None:
    csvs = str(synth_corpus.openface_dir / "01-01-0[1-4]-*.csv")
    first = store_cli(feat_store, "ingest", "openface", csvs, "--name", "aus", "--shard", "0/2")
    assert first.code == 0, first.err
    assert "waits for the other shards" in first.out_text
    with feat_store.session() as s:
        assert s.fetch("SELECT status FROM feature_sets WHERE name = 'aus'") == [("running",)]
    mismatch = store_cli(feat_store, "ingest", "openface", csvs, "--name", "aus", "--shard", "1/3")
    assert mismatch.code == 2 and "2 shards" in mismatch.err_text
    second = store_cli(feat_store, "ingest", "openface", csvs, "--name", "aus", "--shard", "1/2")
    assert second.code == 0, second.err
    assert "set complete" in second.out_text
    whole = store_cli(feat_store, "ingest", "openface", csvs, "--name", "aus1")
    assert whole.code == 0, whole.err
    with feat_store.session() as s:
        frames = {
            name: s.fetch(
                "SELECT a.* EXCLUDE (feature_set_id) FROM lake.au_frames a "
                "JOIN feature_sets f ON f.id = a.feature_set_id AND f.name = ? ORDER BY ALL",
                [name],
            )
            for name in ("aus", "aus1")
        }
    assert frames["aus"] and frames["aus"] == frames["aus1"]


def _begin(store, shard: str):
    from mmemo.features.sets import Shard, begin_feature_set

    return begin_feature_set(
        store,
        name="s",
        kind="embedding",
        params={"model": "m"},
        inputs={},
        clip_keys=[("a", "1"), ("b", "2")],
        shard=Shard.parse(shard),
    )


def _own(store, table, owner: tuple[int, str], **where) -> None:
    import sqlalchemy as sa

    with store.session(write=True) as s, s.orm() as orm:
        orm.execute(
            sa.update(table)
            .where(*[getattr(table, k) == v for k, v in where.items()])
            .values(pid=owner[0], host=owner[1])
        )
        orm.commit()


def test_a_shard_joins_a_set_whose_owner_lives_and_gc_keeps_a_set_with_shards(
    feat_store, store_cli
) -> None:
    from mmemo.provenance import process_identity
    from mmemo.store.schema import FeatureSet, FeatureSetShard

    host = process_identity()[1]
    first = _begin(feat_store, "0/2")
    _own(feat_store, FeatureSet, (os.getppid(), host), id=first.id)  # a live other process
    second = _begin(feat_store, "1/2")
    assert second.id == first.id and second.resumed
    _own(feat_store, FeatureSet, (2**22 + 17, host), id=first.id)  # the owner is gone
    _own(feat_store, FeatureSetShard, (os.getppid(), host), shard=1)  # shard 1 still works
    assert store_cli(feat_store, "gc").code == 0
    with feat_store.session() as s:
        assert s.fetch("SELECT status FROM feature_sets") == [("running",)]
        shards = s.fetch("SELECT shard, shards, status FROM feature_set_shards ORDER BY 1")
    assert shards == [(0, 2, "running"), (1, 2, "running")]
    with pytest.raises(Exception, match="being made by process"):
        _begin(feat_store, "1/2")  # shard 1 is claimed by a live process


@TEAM
def test_a_shard_that_starts_the_set_a_moment_late_joins_it(feat_store) -> None:
    """Two shards start one set at the same moment on a shared registry (read committed):
    when the other shard's new set lands just after this one read the set's versions, this
    one's insert of the same version fails on (name, version) and the retry joins that set,
    rather than starting a second version that would wait forever for the other shards."""
    import sqlalchemy as sa

    from mmemo.features.sets import Shard, begin_feature_set
    from mmemo.store.store import Store

    start = {"name": "raced", "kind": "au_frames", "params": {}, "inputs": {}}
    start["clip_keys"] = [("01-01-01-01-01-01-01", "ab")]
    other: list = []

    def the_other_shard_lands(conn, cursor, statement, *_args) -> None:
        if (
            other
            or not statement.lstrip().startswith("SELECT")
            or "FROM feature_sets" not in statement
        ):
            return
        other.append(None)  # once, and not for the other shard's own statements
        other[0] = begin_feature_set(Store(feat_store.root), shard=Shard(0, 2), **start)

    sa.event.listen(sa.engine.Engine, "after_cursor_execute", the_other_shard_lands)
    try:
        mine = begin_feature_set(feat_store, shard=Shard(1, 2), **start)
    finally:
        sa.event.remove(sa.engine.Engine, "after_cursor_execute", the_other_shard_lands)
    assert other and (mine.id, mine.version) == (other[0].id, 1)  # one set: v1, joined
    with feat_store.session() as s:
        assert s.fetch("SELECT version FROM feature_sets WHERE name = 'raced'") == [(1,)]
        shards = s.fetch(
            "SELECT shard FROM feature_set_shards JOIN feature_sets f ON f.id = feature_set_id "
            "WHERE f.name = 'raced' ORDER BY 1"
        )
        assert shards == [(0,), (1,)]
