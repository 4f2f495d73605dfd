"""``mmemo ingest crema-d`` on the synthetic CREMA-D layout: names, tables, perceived labels,
clip ids unique beside RAVDESS, and refusals that leave the store as it was (issue 25)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from mmemo.corpora.adapters import CORPORA, InvalidNameError
from mmemo.corpora.crema_d import SENTENCES, parse_name
from mmemo.corpora.synth.crema_d import corpus_takes, create_crema_d
from mmemo.testing.stores import query_rows

#: The tests of one backend: the adapter's work is the same on every backend, and the first
#: ingest test below runs on both.
LOCAL = pytest.mark.local_only("an adapter's work is the same on every backend")
ACTORS = (1001, 1002)
CHOSEN = ("IEO", "DFA")  # IEO: neutral + five emotions x three levels; DFA: six, unspecified


@pytest.fixture(scope="module")
def crema(tmp_path_factory) -> Path:
    """A synthetic CREMA-D of two actors and two sentences: 22 takes each, WAV and FLV."""
    return create_crema_d(
        tmp_path_factory.mktemp("crema") / "CREMA-D", actors=ACTORS, sentences=CHOSEN, seconds=0.4
    ).root


def test_names_are_read_field_by_field_and_refused_with_the_field_named() -> None:
    assert parse_name("1091_IEO_HAP_HI") == (1091, "IEO", "HAP", "HI")
    for stem, field in [
        ("1000_IEO_HAP_HI", "actor 1000"),
        ("1001_XYZ_HAP_HI", "sentence XYZ"),
        ("1001_IEO_JOY_HI", "emotion JOY"),
        ("1001_IEO_HAP_ZZ", "level ZZ"),
    ]:
        with pytest.raises(InvalidNameError, match=field):
            parse_name(stem)


def test_the_synthetic_layout_has_the_corpus_takes_in_its_order() -> None:
    takes = corpus_takes(1001)
    assert len(takes) == 82  # the real corpus's 82 takes per actor
    assert takes[:4] == ["1001_IEO_NEU_XX", "1001_IEO_HAP_LO", "1001_IEO_HAP_MD", "1001_IEO_HAP_HI"]
    assert takes[16] == "1001_TIE_NEU_XX"
    assert {t.split("_")[1] for t in takes} == set(SENTENCES)


def test_ingest_reads_every_take_as_two_clips_with_the_tables_facts(cli, store, crema):
    result = cli("--store", store.root, "ingest", "crema-d", crema)
    assert result.code == 0, result.err
    assert "88 CREMA-D file(s): 88 added" in result.out_text
    assert "132 perceived label(s)" in result.out_text  # 44 takes x 3 presentations
    assert "2 corpus table file(s) beside the corpus" in result.out_text
    rows = query_rows(store, "SELECT * FROM clips ORDER BY clip_id")
    assert {r["dataset"] for r in rows} == {"crema-d"}
    assert Counter((r["modality"], r["container"]) for r in rows) == {
        (1, "flv"): 44,
        (3, "wav"): 44,
    }
    wav = next(r for r in rows if r["clip_id"] == "crema-d:1002_IEO_ANG_HI.wav")
    assert (wav["actor"], wav["speaker"], wav["gender"]) == (1002, "1002", "female")
    assert (wav["label"], wav["intensity"], wav["statement"]) == ("angry", 3, 1)
    assert (wav["performance"], wav["sample_rate"], wav["channels"]) == (
        "1002_IEO_ANG_HI",
        16000,
        1,
    )
    assert wav["has_audio"] and not wav["has_video"]
    flv = next(r for r in rows if r["clip_id"] == "crema-d:1001_DFA_SAD_XX.flv")
    assert (flv["intensity"], flv["statement"], flv["gender"]) == (None, 9, "male")
    assert flv["has_audio"] and flv["has_video"] and flv["duration"] > 0
    assert {r["age"] for r in rows} <= set(range(20, 75)) and None not in {r["age"] for r in rows}
    with store.session() as s:
        assert s.fetch("SELECT name FROM datasets") == [("crema-d",)]
        labels = s.fetch("SELECT emotion, label FROM emotions WHERE dataset = 'crema-d' ORDER BY 1")
    assert [x for _, x in labels] == ["angry", "disgust", "fearful", "happy", "neutral", "sad"]


@LOCAL
def test_perceived_labels_sit_beside_the_acted_ones_and_ties_have_none(store, crema) -> None:
    from mmemo.corpora.ingest import ingest_corpus

    ingest_corpus(store, "crema-d", [crema])
    votes = (crema / "processedResults" / "tabulatedVotes.csv").read_text().splitlines()[1:]
    by_key = {}
    for line in votes:
        cells = [c.strip('"') for c in line.split(",")]
        mode = int(cells[0]) // 100_000
        by_key[(cells[7], {1: 3, 2: 2, 3: 1}[mode])] = cells[10]
    rows = query_rows(store, "SELECT * FROM perceived_labels ORDER BY clip_id")
    assert len(rows) == 88  # the face-only votes have no clip of their own
    for row in rows:
        take = row["clip_id"].split(":")[1].rsplit(".", 1)[0]
        verdict = by_key[(take, row["modality"])]
        assert row["votes"] == verdict
        if ":" in verdict:
            assert row["perceived"] is None and row["perceived_label"] is None
        else:
            assert row["perceived_label"][0].upper() == verdict
    agreement = query_rows(store, "SELECT avg((perceived = acted)::INT) AS a FROM perceived_labels")
    assert agreement[0]["a"] > 0.5  # the synthetic crowd mostly sees what was acted


@LOCAL
def test_a_second_ingest_finds_nothing_new_and_writes_nothing(store, crema, store_state) -> None:
    from mmemo.corpora.ingest import ingest_corpus

    ingest_corpus(store, "crema-d", [crema])
    before = store_state(store)
    again = ingest_corpus(store, "crema-d", [crema])
    assert (again.added, again.unchanged, again.ratings, again.snapshot_id) == (0, 88, 0, None)
    assert store_state(store) == before


@LOCAL
def test_ravdess_and_crema_d_share_a_store_without_ambiguous_clip_ids(ingested_store, crema):
    from mmemo.corpora.ingest import ingest_corpus
    from mmemo.store.vocabulary import dataset_vocabulary

    ingest_corpus(ingested_store, "crema-d", [crema / "AudioWAV"])  # tables one folder up
    rows = query_rows(
        ingested_store,
        "SELECT dataset, count(*) AS n, count(DISTINCT clip_id) AS ids, "
        "count(DISTINCT speaker) AS speakers, min(actor) AS low FROM clips GROUP BY 1 ORDER BY 1",
    )
    assert rows == [
        {"dataset": "crema-d", "n": 44, "ids": 44, "speakers": 2, "low": 1001},
        {"dataset": "ravdess", "n": 624, "ids": 624, "speakers": 2, "low": 1},
    ]
    with ingested_store.session() as s:
        assert s.fetch("SELECT count(DISTINCT clip_id) = count(*) FROM clips") == [(True,)]
        assert s.fetch("SELECT DISTINCT speaker FROM clips WHERE dataset = 'ravdess'") in (
            [("01",), ("02",)],
            [("02",), ("01",)],
        )
        assert dataset_vocabulary(s.con, "crema-d").labels[0] == "angry"
        assert dataset_vocabulary(s.con, "ravdess").labels[0] == "neutral"
        performances = s.fetch(
            "SELECT count(DISTINCT performance_id) FROM clip_performances "
            "WHERE clip_id LIKE 'crema-d:%'"
        )
    assert performances == [(44,)]


@LOCAL
@pytest.mark.parametrize(
    ("table", "text", "problem"),
    [
        ("VideoDemographics.csv", '"ActorID","Age","Sex"\n1001,old,"Male"\n', "age 'old'"),
        ("VideoDemographics.csv", '"ActorID","Sex"\n1001,"Male"\n', "no column Age"),
        (
            "processedResults/tabulatedVotes.csv",
            '"","fileName","numResponses","agreement","emoVote"\n'
            '"100001","1001_IEO_NEU_XX",9,0.5,"Q"\n',
            "not a CREMA-D vote",
        ),
    ],
    ids=["age", "column", "vote"],
)
def test_a_broken_corpus_table_is_one_line_naming_it_and_the_store_is_unchanged(
    cli, store, crema, tmp_path, store_state, table, text, problem
):
    broken = tmp_path / "CREMA-D"
    shutil.copytree(crema, broken)
    (broken / table).write_text(text, encoding="utf-8")
    before = store_state(store)
    result = cli("--store", store.root, "ingest", "crema-d", broken)
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert table.split("/")[-1] in result.err_text and problem in result.err_text
    assert store_state(store) == before


@LOCAL
def test_a_file_named_like_crema_d_with_a_field_out_of_range_is_listed(cli, store, tmp_path):
    folder = tmp_path / "AudioWAV"
    folder.mkdir()
    source = create_crema_d(tmp_path / "one", actors=1, sentences=["DFA"], video=False)
    shutil.copy(source.files[0], folder / "1001_DFA_JOY_XX.wav")
    shutil.copy(source.files[1], folder / source.files[1].name)
    (folder / "notes.wav").write_bytes(b"")
    result = cli("--store", store.root, "ingest", "crema-d", folder)
    assert result.code == 0, result.err
    assert "1001_DFA_JOY_XX" in result.err_text and "emotion JOY" in result.err_text
    assert "1 CREMA-D file(s): 1 added" in result.out_text
    assert "1 other file(s) skipped, 1 invalid name(s)" in result.out_text


def test_the_corpora_are_a_registry_with_the_built_ins_first() -> None:
    assert CORPORA.names()[:2] == ("ravdess", "crema-d")
    assert CORPORA.origin("crema-d") == "built-in"
    assert CORPORA.get("crema-d").media_suffixes == {".wav", ".flv"}


@pytest.mark.slow  # > 3.5 s
@LOCAL
def test_runs_on_a_store_of_two_corpora_read_their_own_classes(
    cli, zeror_store, crema, store_state
):
    from mmemo.corpora.ingest import ingest_corpus
    from mmemo.corpora.ravdess import VOCABULARY as RAVDESS

    ingest_corpus(zeror_store, "crema-d", [crema])
    with zeror_store.session() as s:  # RAVDESS's codes read as RAVDESS's labels, not CREMA-D's
        rows = s.fetch("SELECT DISTINCT predicted_emotion, predicted_label FROM predictions")
    assert rows and all(label == RAVDESS.label_of(code) for code, label in rows)

    before = store_state(zeror_store)
    mixed = cli(
        "--store",
        zeror_store.root,
        "train",
        "static",
        "--model",
        "zeror",
        "--clips",
        "audio",
        "--scheme",
        "loao",
        "--name",
        "mixed",
    )
    assert mixed.code == 2
    assert "spans the datasets crema-d, ravdess" in mixed.err_text
    assert store_state(zeror_store) == before

    one = cli(
        "--store",
        zeror_store.root,
        "train",
        "static",
        "--model",
        "zeror",
        "--clips",
        "dataset = 'crema-d'",
        "--scheme",
        "kfold:2:0",
        "--name",
        "cd-zeror",
    )
    assert one.code == 0, one.err
    with zeror_store.session() as s:
        assert s.fetch("SELECT dataset FROM runs WHERE name = 'cd-zeror'") == [("crema-d",)]
        labels = s.fetch("SELECT DISTINCT true_label FROM predictions WHERE run = 'cd-zeror'")
        assert {x for (x,) in labels} == {"angry", "disgust", "fearful", "happy", "neutral", "sad"}
    report = cli("--store", zeror_store.root, "report", "cd-zeror", "--per-class")
    assert report.code == 0, report.err
    header = next(line for line in report.out.splitlines() if line.startswith("Metric"))
    assert header.split()[1:] == ["Angry", "Disgust", "Fearful", "Happy", "Neutral", "Sad"]


@LOCAL
def test_openface_csvs_named_after_crema_d_videos_land_on_their_clips(
    cli, ingested_store, crema, synth_corpus, tmp_path
):
    from mmemo.corpora.ingest import ingest_corpus

    ingest_corpus(ingested_store, "crema-d", [crema])
    source = synth_corpus.openface_files[0]
    folder = tmp_path / "openface"
    folder.mkdir()
    takes = ["1001_DFA_ANG_XX", "1002_IEO_HAP_HI"]
    for take in takes:  # OpenFace names its output after the video: VideoFlash/TAKE.flv
        (folder / f"{take}.csv").write_bytes(source.read_bytes())
    (folder / source.name).write_bytes(source.read_bytes())  # and a RAVDESS video's
    result = cli("--store", ingested_store.root, "ingest", "openface", folder, "--name", "aus")
    assert result.code == 0, result.err
    with ingested_store.session() as s:
        clips = [c for (c,) in s.fetch("SELECT DISTINCT clip_id FROM au_means ORDER BY 1")]
    assert clips == sorted([source.stem, *(f"crema-d:{t}.flv" for t in takes)])
