"""Named clip selections (``--clips``)."""

from __future__ import annotations

from collections import Counter

import duckdb
import pyarrow as pa
import pytest

from mmemo.corpora.ravdess import corpus_names, parse_name
from mmemo.store.selection import SELECTIONS, selection_where


@pytest.fixture(scope="module")
def corpus_clips() -> duckdb.DuckDBPyConnection:
    """An in-memory ``clips`` table with the columns selections use, one row per corpus file."""
    rows = [parse_name(n) for n in corpus_names()]
    table = pa.table(
        {
            "clip_id": [r.clip_id for r in rows],
            "modality": [r.modality for r in rows],
            "vocal_channel": [r.vocal_channel for r in rows],
            "emotion": [r.emotion for r in rows],
            "intensity": [r.intensity for r in rows],
            "actor": [r.actor for r in rows],
            "has_audio": [r.has_audio for r in rows],
            "has_video": [r.has_video for r in rows],
        }
    )
    con = duckdb.connect()
    con.register("corpus_table", table)
    con.execute("CREATE TABLE clips AS SELECT * FROM corpus_table")
    return con


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("all", 7356),
        ("av-speech", 1440),
        ("av", 1440 + 1012),
        ("speech", 3 * 1440),
        ("song", 3 * 1012),
        ("audio", 2 * (1440 + 1012)),
        ("video", 2 * (1440 + 1012)),
        ("audio-speech", 1440),
    ],
)
def test_named_selections_select_the_expected_number_of_corpus_files(corpus_clips, name, expected):
    where = selection_where(name)
    assert (
        corpus_clips.execute(f"SELECT count(*) FROM clips WHERE {where}").fetchone()[0] == expected
    )


def test_av_speech_is_60_clips_per_actor():
    where = selection_where("av-speech")
    assert "modality = 1" in where and "vocal_channel = 1" in where
    per_actor = Counter(parse_name(n).actor for n in corpus_names() if n.startswith("01-01-"))
    assert set(per_actor.values()) == {60}


@pytest.mark.parametrize("clips", [None, "", "   "])
def test_no_selection_means_all(clips):
    assert selection_where(clips) == SELECTIONS["all"]


def test_a_sql_condition_is_used_as_is():
    assert selection_where("actor <= 12 AND intensity = 2") == "actor <= 12 AND intensity = 2"
    assert selection_where(" av-speech ") == SELECTIONS["av-speech"]
