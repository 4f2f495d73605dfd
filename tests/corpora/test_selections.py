"""Named clip selections (``--clips``)."""

from __future__ import annotations

from collections import Counter

import duckdb
import pyarrow as pa
import pytest

from mmemo.corpora.ravdess import corpus_names, parse_name
from mmemo.errors import InputError
from mmemo.jobs.cv import select_clips
from mmemo.store.selection import SELECTIONS, clip_where, selection_where


@pytest.fixture(scope="module")
def corpus_clips() -> duckdb.DuckDBPyConnection:
    """An in-memory ``clips`` table with the columns selections use, one row per corpus file."""
    rows = [parse_name(n).as_clip() for n in corpus_names()]
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


class _Clips:
    """The part of a store session :func:`clip_where` uses, over the in-memory corpus."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def ensure_views(self, query: str | None = None) -> None:
        """The in-memory corpus is its own ``clips`` table: no views to make."""

    def fetch(self, query: str, params=None) -> list[tuple]:
        return self.con.execute(query, params or []).fetchall()


def test_a_mistyped_selection_name_lists_the_names_and_the_closest(corpus_clips):
    with pytest.raises(InputError) as info:
        clip_where(_Clips(corpus_clips), "av_speech")
    message = str(info.value)
    assert message.startswith("unknown selection 'av_speech' (did you mean 'av-speech'?)")
    assert ", ".join(SELECTIONS) in message
    assert "Binder" not in message and "\n" not in message


def test_a_mistyped_column_lists_the_clip_columns(corpus_clips):
    with pytest.raises(InputError) as info:
        clip_where(_Clips(corpus_clips), "actr = 1")
    message = str(info.value)
    assert message.startswith("unknown column 'actr' in --clips 'actr = 1' (did you mean 'actor'?)")
    assert message.endswith(
        "clips has: clip_id, modality, vocal_channel, emotion, intensity, actor, has_audio, "
        "has_video"
    )


@pytest.mark.parametrize("text", ["actor = 1 AND", "actor >"])
def test_a_syntax_error_quotes_only_what_the_user_typed(corpus_clips, text):
    with pytest.raises(InputError) as info:
        clip_where(_Clips(corpus_clips), text)
    assert str(info.value) == (
        f"--clips {text!r} is not a valid condition: syntax error at end of input"
    )


def test_a_second_statement_is_refused(corpus_clips):
    with pytest.raises(InputError, match="one condition, no ';'"):
        clip_where(_Clips(corpus_clips), "actor = 1; SELECT 1")


@pytest.mark.parametrize("text", ["av-speech", "has_audio", "actor <= 12 AND intensity = 2", None])
def test_valid_selections_pass(corpus_clips, text):
    assert clip_where(_Clips(corpus_clips), text) == selection_where(text)


def test_a_condition_matching_nothing_says_how_many_clips_it_was_tried_on(ingested_store):
    with ingested_store.session() as s:
        total = s.fetch("SELECT count(*) FROM clips")[0][0]
        with pytest.raises(InputError) as info:
            select_clips(s, "actor > 100")
    assert total > 0
    assert str(info.value) == (
        f"--clips 'actor > 100' selects no clips: "
        f"it matched none of the {total:,} clips in the store"
    )
