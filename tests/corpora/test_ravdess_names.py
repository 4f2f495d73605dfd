"""RAVDESS file names: the seven fields, their ranges and the derived labels."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmemo.corpora.ravdess import (
    EMOTIONS,
    InvalidNameError,
    corpus_names,
    looks_like_ravdess,
    parse_name,
)

NAMES = corpus_names()
FIELDS = ("modality", "vocal channel", "emotion", "intensity", "statement", "repetition", "actor")
#: A value out of range for each field (by position in the stem).
OUT_OF_RANGE = {
    0: (0, 4, 99),
    1: (0, 3),
    2: (0, 9, 10),
    3: (0, 3),
    4: (0, 3),
    5: (0, 3),
    6: (0, 25, 99),
}


def test_corpus_names_has_the_7356_files_of_ravdess():
    assert len(NAMES) == 7356
    assert len(set(NAMES)) == 7356
    av_speech = [n for n in NAMES if n.startswith("01-01-")]
    assert len(av_speech) == 1440
    assert not [n for n in NAMES if n.endswith("-18") and n[3:5] == "02"]  # actor 18: no song


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(NAMES))
def test_every_corpus_name_parses_to_its_fields(stem):
    name = parse_name(stem)
    codes = [int(part) for part in stem.split("-")]
    assert [
        name.modality,
        name.vocal_channel,
        name.emotion,
        name.intensity,
        name.statement,
        name.repetition,
        name.actor,
    ] == codes
    assert name.clip_id == stem
    assert name.label == EMOTIONS[name.emotion - 1]
    assert name.gender == ("male" if name.actor % 2 else "female")
    clip = name.as_clip()
    assert clip.has_audio == (name.modality in (1, 3))
    assert clip.has_video == (name.modality in (1, 2))
    row = clip.as_row()
    assert row["label"] == name.label and row["gender"] == name.gender
    assert row["speaker"] == f"{name.actor:02d}" and row["performance"] is None


def test_all_corpus_names_parse():
    assert all(parse_name(n).clip_id == n for n in NAMES)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(NAMES),
    st.sampled_from(sorted(OUT_OF_RANGE)),
    st.data(),
)
def test_out_of_range_field_is_rejected_naming_the_field(stem, position, data):
    value = data.draw(st.sampled_from(OUT_OF_RANGE[position]))
    parts = stem.split("-")
    parts[position] = f"{value:02d}"
    bad = "-".join(parts)
    with pytest.raises(InvalidNameError) as excinfo:
        parse_name(bad)
    message = str(excinfo.value)
    assert bad in message
    assert FIELDS[position] in message
    assert f"{value:02d}" in message


@pytest.mark.parametrize(
    ("stem", "words"),
    [
        ("01-01-01-02-01-01-01", "neutral has no strong intensity"),
        ("01-02-07-01-01-01-01", "disgust"),
        ("01-02-08-01-01-01-01", "surprised"),
    ],
)
def test_combinations_ravdess_never_recorded_are_rejected(stem, words):
    with pytest.raises(InvalidNameError, match=words):
        parse_name(stem)


@pytest.mark.parametrize(
    "stem", ["notes", "01-01-01-01-01-01", "1-01-01-01-01-01-01", "01_01_01_01_01_01_01", ""]
)
def test_names_not_shaped_like_ravdess_are_rejected(stem):
    assert not looks_like_ravdess(stem)
    with pytest.raises(InvalidNameError, match="not a RAVDESS name"):
        parse_name(stem)


def test_invalid_name_error_is_a_value_error():
    assert issubclass(InvalidNameError, ValueError)


def test_emotion_codes_accept_labels_aliases_and_codes_in_the_given_order():
    from mmemo.corpora.ravdess import EMOTION_CODES, EMOTIONS, emotion_code, emotion_codes

    assert [emotion_code(label) for label in EMOTIONS] == list(EMOTION_CODES)
    assert emotion_codes(" Surprise,neutral , FEAR,05, 2,disgusted,happiness,sadness") == [
        8,
        1,
        6,
        5,
        2,
        7,
        3,
        4,
    ]
    assert emotion_codes(["calm", 3]) == [2, 3]
    assert emotion_code("08") == 8


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("calm,joyful", "--classes: unknown label 'joyful'; expected RAVDESS labels (neutral, "),
        ("calm,09", "unknown label '09'"),
        ("calm,0", "unknown label '0'"),
        ("calm,Calm", "--classes 'calm,Calm' names a class twice"),
    ],
)
def test_emotion_codes_refuse_unknown_or_repeated_classes(spec, message):
    from mmemo.corpora.ravdess import emotion_codes
    from mmemo.errors import InputError

    with pytest.raises(InputError, match=re.escape(message)):
        emotion_codes(spec)


def test_the_store_serves_the_vocabulary_the_ingest_recorded_to_sql(tmp_path, synth_corpus):
    """``emotions(emotion, label, dataset)`` and ``emotion_label(code)`` in every session,
    from the registry's ``datasets``: empty before anything is ingested, RAVDESS's eight
    classes once ``ingest ravdess`` recorded them (the corpus's own labels agree)."""
    from mmemo.corpora.ingest import ingest_ravdess
    from mmemo.corpora.ravdess import EMOTIONS
    from mmemo.testing.stores import init_store

    store = init_store(tmp_path / "store", None)
    with store.session() as s:
        assert s.fetch("SELECT * FROM emotions") == []
        assert s.fetch("SELECT emotion_label(1)") == [(None,)]
    names = tmp_path / "names.txt"
    names.write_text("".join(f"{f.stem}\n" for f in synth_corpus.files[:40]), encoding="utf-8")
    ingest_ravdess(store, [names])
    with store.session() as s:
        table = s.fetch("SELECT emotion, label, dataset FROM emotions ORDER BY emotion")
        labels = s.fetch("SELECT emotion_label(e) FROM range(1, 9) AS t(e) ORDER BY e")
        clips = s.fetch("SELECT count(*) FROM clips WHERE emotion_label(emotion) <> label")
    assert table == [(i, x, "ravdess") for i, x in enumerate(EMOTIONS, start=1)]
    assert [r[0] for r in labels] == list(EMOTIONS)
    assert clips == [(0,)]
