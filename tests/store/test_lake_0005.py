"""Lake 0005 (other corpora) on a store the mmemo before it made: refused until `mmemo
migrate`, then every clip and run as it was, and room for a second corpus (issue 25).

``tests/data/stores/lake0004-ravdess.tar.gz`` is such a store, made by commit 8524276 (lake
0004): ``mmemo init``; ``mmemo ingest ravdess names.txt`` (the 624 names of actors 1 and 2,
names only); ``mmemo train static --model zeror --scheme kfold:2:0 --clips all --name
old-zeror``.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from mmemo.corpora.ravdess import corpus_names, parse_name
from mmemo.testing.stores import query_rows

OLD_STORE = Path(__file__).parent.parent / "data" / "stores" / "lake0004-ravdess.tar.gz"
FIELDS = ("modality", "vocal_channel", "emotion", "intensity", "statement", "repetition", "actor")


def _old_store(tmp_path: Path) -> Path:
    with tarfile.open(OLD_STORE) as archive:
        archive.extractall(tmp_path, filter="data")
    return tmp_path / "old0004"


@pytest.mark.slow  # > 3.5 s
def test_a_store_from_before_other_corpora_migrates_with_its_clips_and_runs_unchanged(
    cli, tmp_path, synth_corpus
):
    root = _old_store(tmp_path)
    refused = cli("--store", root, "sql", "SELECT count(*) FROM clips")
    assert refused.code == 2 and "0005_corpora" in refused.err_text
    migrated = cli("--store", root, "migrate")
    assert migrated.code == 0, migrated.err
    assert "lake 0005_corpora" in migrated.out_text

    from mmemo.store.store import Store

    store = Store.open(root)
    rows = query_rows(store, "SELECT * FROM clips ORDER BY clip_id")
    with store.session() as s:
        types = dict(s.fetch("SELECT column_name, column_type FROM (DESCRIBE lake.clips)"))
    expected = sorted(n for n in corpus_names() if parse_name(n).actor in (1, 2))
    assert [r["clip_id"] for r in rows] == expected
    for row in rows:
        name = parse_name(row["clip_id"])
        assert tuple(row[f] for f in FIELDS) == tuple(getattr(name, f) for f in FIELDS)
        assert (row["label"], row["gender"]) == (name.label, name.gender)
        assert row["speaker"] == f"{name.actor:02d}"  # shown for rows written before 0005
        assert (row["performance"], row["age"], row["dataset"]) == (None, None, "ravdess")
    assert types["actor"] == "INTEGER" and types["speaker"] == "VARCHAR"

    report = cli("--store", root, "report", "old-zeror", "--format", "csv")
    assert report.code == 0, report.err
    assert "old-zeror" in report.out
    doctor = cli("--store", root, "doctor")
    assert doctor.code == 0, doctor.out

    # the migrated store takes the media file of a clip it knew by name, as a new version
    clip = synth_corpus.root / "Actor_01" / "03-01-05-02-01-01-01.wav"
    added = cli("--store", root, "ingest", "ravdess", clip)
    assert added.code == 0, added.err
    with store.session() as s:
        assert s.fetch(
            "SELECT version, speaker, actor, path IS NOT NULL FROM clips "
            "WHERE clip_id = '03-01-05-02-01-01-01'"
        ) == [(2, "01", 1, True)]
