"""``mmemo ingest ravdess``: directories, zip archives, lists; versions; bad input."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from mmemo.corpora.ravdess import corpus_names, parse_name
from mmemo.corpora.synth import write_archives
from mmemo.testing.stores import query_rows


def clips_rows(store, where: str = "TRUE", table: str = "clips") -> list[dict]:
    return query_rows(store, f"SELECT * FROM {table} WHERE {where} ORDER BY clip_id, version")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- a directory tree ----------------------------------------------------------------------------


def test_directory_ingest_accepts_every_file_of_the_actors(ingested_store, synth_corpus):
    rows = clips_rows(ingested_store)
    expected = [n for n in corpus_names() if parse_name(n).actor in synth_corpus.actors]
    assert sorted(r["clip_id"] for r in rows) == sorted(expected)
    per_modality = Counter(r["modality"] for r in rows)
    assert per_modality == Counter(parse_name(n).modality for n in expected)
    assert per_modality == {1: 208, 2: 208, 3: 208}
    assert {r["version"] for r in rows} == {1}
    assert {r["dataset"] for r in rows} == {"ravdess"}


def test_directory_ingest_records_the_seven_fields_and_labels(ingested_store):
    (row,) = clips_rows(ingested_store, "clip_id = '01-01-05-02-01-02-02'")
    assert (
        row["modality"],
        row["vocal_channel"],
        row["emotion"],
        row["intensity"],
        row["statement"],
        row["repetition"],
        row["actor"],
    ) == (1, 1, 5, 2, 1, 2, 2)
    assert row["label"] == "angry"
    assert row["gender"] == "female"
    assert row["has_audio"] and row["has_video"]


def test_directory_ingest_records_media_facts(ingested_store, synth_corpus):
    rows = {r["clip_id"]: r for r in clips_rows(ingested_store)}
    for path in synth_corpus.files:
        row = rows[path.stem]
        assert Path(row["path"]) == path.absolute()
        assert row["member"] is None
        assert row["container"] == path.suffix.lstrip(".")
        assert row["size_bytes"] == path.stat().st_size
        assert row["content_hash"] == sha256(path)
        assert row["duration"] == pytest.approx(synth_corpus.durations[path.stem], abs=0.08)
        modality = parse_name(path.stem).modality
        if modality == 2:  # video-only: no audio stream
            assert row["sample_rate"] is None
        else:
            assert row["sample_rate"] == 48_000
        if modality == 3:
            assert row["channels"] == 1


def test_av_speech_selection_is_60_clips_per_actor(ingested_store):
    from mmemo.store.selection import selection_where

    with ingested_store.session() as s:
        rows = s.fetch(
            f"SELECT actor, count(*) FROM clips WHERE {selection_where('av-speech')} "
            "GROUP BY actor ORDER BY actor"
        )
    assert rows == [(1, 60), (2, 60)]


def test_ingesting_the_same_sources_again_adds_nothing(
    cli, ingested_store, synth_corpus, store_state
):
    before = store_state(ingested_store)
    result = cli("--store", ingested_store.root, "ingest", "ravdess", synth_corpus.root)
    assert result.code == 0, result.err
    assert "0 added, 624 unchanged" in result.out_text
    assert "store unchanged" in result.out_text
    assert store_state(ingested_store) == before
    # nothing changed: one line, not the table of clip counts
    assert result.out.strip().count("\n") == 0
    assert "clips in the store" not in result.out


def test_a_relative_source_path_is_recorded_absolute(cli, store, small_corpus, monkeypatch):
    monkeypatch.chdir(small_corpus.parent)
    result = cli("--store", store.root, "ingest", "ravdess", small_corpus.name)
    assert result.code == 0, result.err
    for row in clips_rows(store):
        assert Path(row["path"]).is_absolute(), row["path"]
    again = cli("--store", store.root, "ingest", "ravdess", small_corpus)  # same files, absolute
    assert again.code == 0, again.err
    assert "0 added, 3 unchanged" in again.out_text


def test_a_changed_file_becomes_version_2(cli, store, small_corpus, synth_corpus):
    assert cli("--store", store.root, "ingest", "ravdess", small_corpus).code == 0
    target = small_corpus / "Actor_01" / "03-01-01-01-01-01-01.wav"
    shutil.copy(synth_corpus.root / "Actor_02" / "03-01-01-01-01-01-02.wav", target)
    result = cli("--store", store.root, "ingest", "ravdess", small_corpus)
    assert result.code == 0, result.err
    assert "1 added, 2 unchanged" in result.out_text
    (current,) = clips_rows(store, "clip_id = '03-01-01-01-01-01-01'")
    assert current["version"] == 2
    assert current["content_hash"] == sha256(target)
    versions = clips_rows(store, "clip_id = '03-01-01-01-01-01-01'", table="lake.clips")
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["content_hash"] != versions[1]["content_hash"]
    assert len(clips_rows(store)) == 3


# -- zip archives -------------------------------------------------------------------------------


@pytest.fixture()
def archives(small_corpus, tmp_path) -> list[Path]:
    """The corpus' archives (Audio_Speech_Actors_01-24.zip, Video_Speech_Actor_01.zip)."""
    return write_archives(small_corpus, tmp_path / "archives")


def test_zip_archives_are_read_in_place(cli, store, archives, small_corpus):
    names = sorted(p.name for p in archives)
    assert names == ["Audio_Speech_Actors_01-24.zip", "Video_Speech_Actor_01.zip"]
    listing_before = sorted(p.name for p in archives[0].parent.iterdir())
    result = cli("--store", store.root, "ingest", "ravdess", *archives)
    assert result.code == 0, result.err
    assert "3 added" in result.out_text
    rows = {r["clip_id"]: r for r in clips_rows(store)}
    assert sorted(rows) == sorted(p.stem for p in (small_corpus / "Actor_01").iterdir())
    for stem, row in rows.items():
        original = next((small_corpus / "Actor_01").glob(f"{stem}.*"))
        archive = "Audio_Speech" if stem.startswith("03") else "Video_Speech"
        assert Path(row["path"]).name.startswith(archive)
        assert row["member"] == f"Actor_01/{original.name}"
        assert row["content_hash"] == sha256(original)
        assert row["size_bytes"] == original.stat().st_size
        assert row["duration"] > 0
    assert (
        sorted(p.name for p in archives[0].parent.iterdir()) == listing_before
    )  # nothing unpacked
    again = cli("--store", store.root, "ingest", "ravdess", *archives)
    assert "store unchanged" in again.out_text


@pytest.fixture()
def escaping_zip(tmp_path, small_corpus) -> Path:
    """A speech archive with one good member and one whose path climbs out (../)."""
    archive = tmp_path / "Audio_Speech_Actors_01-24.zip"
    wav = small_corpus / "Actor_01" / "03-01-01-01-01-01-01.wav"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(wav, "Actor_01/03-01-01-01-01-01-01.wav")
        zf.write(wav, "../03-01-02-01-01-01-01.wav")
    return archive


def test_a_member_escaping_the_archive_is_refused(cli, store, escaping_zip):
    result = cli("--store", store.root, "ingest", "ravdess", escaping_zip)
    assert result.code == 0, result.err
    assert "refused" in result.err_text
    assert "../03-01-02-01-01-01-01.wav" in result.err_text
    assert [r["clip_id"] for r in clips_rows(store)] == ["03-01-01-01-01-01-01"]


def test_a_member_escaping_the_archive_is_an_error_under_strict(
    cli, store, escaping_zip, store_state
):
    before = store_state(store)
    result = cli("--store", store.root, "ingest", "ravdess", "--strict", escaping_zip)
    assert result.code == 2
    assert "../03-01-02-01-01-01-01.wav" in result.err_text
    assert "escapes" in result.err_text
    assert store_state(store) == before


def test_a_corrupt_zip_is_an_error_naming_it(cli, ingested_store, tmp_path, store_state):
    corrupt = tmp_path / "Video_Speech_Actor_01.zip"
    corrupt.write_bytes(bytes(range(256)) * 40)
    before = store_state(ingested_store)
    result = cli("--store", ingested_store.root, "ingest", "ravdess", corrupt)
    assert result.code == 2
    assert str(corrupt) in result.err_text
    assert "zip" in result.err_text
    assert store_state(ingested_store) == before


def test_a_missing_source_is_an_error_naming_it(cli, ingested_store, tmp_path, store_state):
    missing = tmp_path / "no-such-corpus"
    before = store_state(ingested_store)
    result = cli("--store", ingested_store.root, "ingest", "ravdess", missing)
    assert result.code == 2
    assert str(missing) in result.err_text
    assert "no such file" in result.err_text
    assert store_state(ingested_store) == before


def test_an_unsupported_source_file_is_an_error(cli, store, tmp_path, store_state):
    source = tmp_path / "clips.csv"
    source.write_text("01-01-01-01-01-01-01\n")
    before = store_state(store)
    result = cli("--store", store.root, "ingest", "ravdess", source)
    assert result.code == 2
    assert str(source) in result.err_text
    assert store_state(store) == before


# -- lists of names and paths -----------------------------------------------------------------


def test_a_list_of_stems_ingests_metadata_only(cli, store, tmp_path):
    stems = [n for n in corpus_names() if n.startswith("01-01-") and n.endswith("-07")]
    listing = tmp_path / "clips.txt"
    listing.write_text("# actor 7, AV speech\n\n" + "\n".join(stems) + "\n")
    result = cli("--store", store.root, "ingest", "ravdess", listing)
    assert result.code == 0, result.err
    assert "60 added" in result.out_text
    rows = clips_rows(store)
    assert sorted(r["clip_id"] for r in rows) == sorted(stems)
    for row in rows:
        assert row["path"] is None
        assert row["container"] is None and row["content_hash"] is None
        assert row["duration"] is None and row["sample_rate"] is None
    again = cli("--store", store.root, "ingest", "ravdess", listing)
    assert "store unchanged" in again.out_text


def test_a_list_of_paths_ingests_and_probes_the_files(cli, store, tmp_path, small_corpus):
    files = sorted((small_corpus / "Actor_01").iterdir())
    listing = tmp_path / "paths.txt"
    lines = [str(files[0]), str(files[1].relative_to(tmp_path)), str(files[2])]
    listing.write_text("\n".join(lines) + "\n")
    result = cli("--store", store.root, "ingest", "ravdess", listing)
    assert result.code == 0, result.err
    rows = {r["clip_id"]: r for r in clips_rows(store)}
    assert sorted(rows) == [p.stem for p in files]
    for path in files:
        assert Path(rows[path.stem]["path"]).resolve() == path.resolve()
        assert rows[path.stem]["content_hash"] == sha256(path)
        assert rows[path.stem]["duration"] > 0


# -- what is skipped, listed or refused ---------------------------------------------------------


@pytest.fixture()
def messy_corpus(small_corpus) -> Path:
    """The small corpus plus a non-RAVDESS WAV, a text file and an invalid RAVDESS-like name."""
    actor = small_corpus / "Actor_01"
    shutil.copy(actor / "03-01-01-01-01-01-01.wav", actor / "my-recording.wav")
    (small_corpus / "README.txt").write_text("not media")
    shutil.copy(actor / "03-01-01-01-01-01-01.wav", actor / "03-01-09-01-01-01-01.wav")
    return small_corpus


def test_non_ravdess_files_are_skipped_and_invalid_names_listed(cli, store, messy_corpus):
    result = cli("--store", store.root, "ingest", "ravdess", messy_corpus)
    assert result.code == 0, result.err
    assert "3 added" in result.out_text
    assert "2 other file(s) skipped" in result.out_text
    assert "1 invalid name(s)" in result.out_text
    assert "03-01-09-01-01-01-01" in result.err_text
    assert "emotion 09 is out of range" in result.err_text
    assert len(clips_rows(store)) == 3
    for name in ("my-recording.wav", "README.txt"):
        assert f"{name}: not a RAVDESS file" in result.err_text
    assert "clips in the store" in result.out_text  # the store changed: the counts


def test_skipped_files_are_named_first_few_then_all_on_request(cli, store, messy_corpus):
    for n in range(6):
        (messy_corpus / f"notes-{n}.txt").write_text("not media")
    result = cli("--store", store.root, "ingest", "ravdess", messy_corpus)
    assert result.code == 0, result.err
    assert "8 other file(s) skipped" in result.out_text
    assert result.err_text.count(": not a RAVDESS file") == 5
    assert "... and 3 more skipped file(s); name them all with --list-skipped" in result.err_text
    listed = cli("--store", store.root, "ingest", "ravdess", messy_corpus, "--list-skipped")
    assert listed.code == 0, listed.err
    assert listed.err_text.count(": not a RAVDESS file") == 8
    assert "more skipped" not in listed.err_text
    for name in ("my-recording.wav", "README.txt", "notes-5.txt"):
        assert f"{name}: not a RAVDESS file" in listed.err_text
    # a plain re-run finds nothing new: the count and the hint, not the names again
    again = cli("--store", store.root, "ingest", "ravdess", messy_corpus)
    assert again.code == 0, again.err
    assert "not a RAVDESS file" not in again.err_text
    assert "8 other file(s) skipped" in again.out_text
    assert "(--list-skipped names the skipped files)" in again.out_text


@pytest.mark.parametrize("problem", ["not-ravdess", "invalid"])
def test_strict_makes_skipped_or_invalid_files_an_error(
    cli, store, small_corpus, problem, store_state
):
    actor = small_corpus / "Actor_01"
    name = "my-recording.wav" if problem == "not-ravdess" else "03-01-09-01-01-01-01.wav"
    shutil.copy(actor / "03-01-01-01-01-01-01.wav", actor / name)
    before = store_state(store)
    result = cli("--store", store.root, "ingest", "ravdess", "--strict", small_corpus)
    assert result.code == 2
    assert "--strict" in result.err_text and "nothing was ingested" in result.err_text
    if problem == "invalid":
        assert "03-01-09-01-01-01-01" in result.err_text
    else:
        assert "not a RAVDESS name" in result.err_text
    assert store_state(store) == before


@pytest.fixture()
def bad_media_corpus(small_corpus) -> Path:
    """The small corpus plus a zero-byte WAV, a WAV and an MP4 cut in half."""
    actor = small_corpus / "Actor_01"
    (actor / "03-01-02-01-01-01-01.wav").write_bytes(b"")
    wav = (actor / "03-01-01-01-01-01-01.wav").read_bytes()
    (actor / "03-01-03-01-01-01-01.wav").write_bytes(wav[: len(wav) // 2])
    mp4 = (actor / "01-01-03-01-02-01-01.mp4").read_bytes()
    (actor / "01-01-04-01-02-01-01.mp4").write_bytes(mp4[: len(mp4) // 2])
    return small_corpus


def test_zero_byte_and_truncated_media_are_skipped_with_a_warning(cli, store, bad_media_corpus):
    result = cli("--store", store.root, "ingest", "ravdess", bad_media_corpus)
    assert result.code == 0, result.err
    assert "3 added" in result.out_text
    assert "3 bad media" in result.out_text
    assert "03-01-02-01-01-01-01.wav: empty file (0 bytes)" in result.err_text
    assert "03-01-03-01-01-01-01.wav: truncated" in result.err_text
    assert "01-01-04-01-02-01-01.mp4" in result.err_text
    assert sorted(r["clip_id"] for r in clips_rows(store)) == [
        "01-01-03-01-02-01-01",
        "03-01-01-01-01-01-01",
        "03-01-05-02-01-01-01",
    ]


def test_bad_media_is_an_error_under_strict(cli, store, bad_media_corpus, store_state):
    before = store_state(store)
    result = cli("--store", store.root, "ingest", "ravdess", "--strict", bad_media_corpus)
    assert result.code == 2
    assert "nothing was ingested" in result.err_text
    assert "bad media" not in result.out_text
    assert store_state(store) == before


def test_a_truncated_mp4_alone_is_refused_under_strict(cli, store, small_corpus, store_state):
    actor = small_corpus / "Actor_01"
    mp4 = actor / "01-01-03-01-02-01-01.mp4"
    mp4.write_bytes(mp4.read_bytes()[: mp4.stat().st_size // 2])
    before = store_state(store)
    result = cli("--store", store.root, "ingest", "ravdess", "--strict", small_corpus)
    assert result.code == 2
    assert "01-01-03-01-02-01-01.mp4" in result.err_text
    assert store_state(store) == before
