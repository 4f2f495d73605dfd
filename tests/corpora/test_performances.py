"""The three files of one performance linked by ``performance_id``; integrity and leakage
audits over them (``sql/checks``), run after every job that stores a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmemo.corpora.ingest import ingest_ravdess
from mmemo.corpora.ravdess import corpus_names
from mmemo.errors import StoreError
from mmemo.store.audits import AFTER_JOB, audit_names, audit_run, run_audits


def _rows(store, query: str, params: list | None = None) -> list[tuple]:
    with store.session() as s:
        return s.fetch(query, params or [])


def _audit(store, name: str) -> list[tuple]:
    (result,) = run_audits(store, [name])
    return result.rows


def test_performance_id_links_the_three_files_of_a_take(ingested_store):
    files = _rows(
        ingested_store,
        "SELECT performance_id, full_av_clip, video_only_clip, audio_only_clip, files "
        "FROM performance_files WHERE performance_id = '01-05-02-01-01-02'",
    )
    assert files == [
        (
            "01-05-02-01-01-02",
            "01-01-05-02-01-01-02",
            "02-01-05-02-01-01-02",
            "03-01-05-02-01-01-02",
            3,
        )
    ]
    # actors 1-2: 60 speech and 44 song performances each, every one with all three files
    counts = _rows(ingested_store, "SELECT count(*), min(files), max(files) FROM performance_files")
    assert counts == [(208, 3, 3)]
    assert _rows(ingested_store, "SELECT count(*) FROM performance_gaps") == [(0,)]


def test_integrity_audits_pass_on_the_synthetic_corpus(ingested_store):
    assert _audit(ingested_store, "performance_durations_agree") == []
    assert _audit(ingested_store, "performance_files_complete") == []


def test_a_file_of_another_length_is_found(ingested_store):
    with ingested_store.session(write=True) as s:
        s.con.execute(
            "UPDATE lake.clips SET duration = duration + 2 WHERE clip_id = '03-01-05-02-01-01-02'"
        )
    rows = _audit(ingested_store, "performance_durations_agree")
    assert [(r[0], r[4]) for r in rows] == [("01-05-02-01-01-02", "03-01-05-02-01-01-02")]
    assert rows[0][7] == pytest.approx(2.0, abs=0.05)  # the mp4s run a few ms longer


def _names_file(tmp_path: Path, actors: set[int], drop: set[str] = frozenset()) -> Path:
    names = [n for n in corpus_names() if int(n[-2:]) in actors and n not in drop]
    path = tmp_path / "names.txt"
    path.write_text("\n".join(names) + "\n", encoding="utf-8")
    return path


def test_actor_18s_missing_song_is_listed_as_known_not_an_error(store, tmp_path):
    ingest_ravdess(store, [_names_file(tmp_path, {17, 18})])
    gaps = _rows(
        store,
        "SELECT actor, vocal_channel, modality, performance_id, known FROM performance_gaps "
        "ORDER BY ALL",
    )
    assert gaps == [(18, 2, m, None, True) for m in (1, 2, 3)]
    assert _audit(store, "performance_files_complete") == []


def test_a_missing_file_of_a_performance_is_an_error(store, tmp_path):
    ingest_ravdess(store, [_names_file(tmp_path, {17, 18}, drop={"03-01-05-02-01-01-17"})])
    assert _audit(store, "performance_files_complete") == [
        (17, 1, 3, "01-05-02-01-01-17", "this performance has no file of this modality")
    ]


def test_an_actor_without_a_modality_others_have_is_an_error(store, tmp_path):
    audio_17 = {n for n in corpus_names() if n.startswith("03-") and n.endswith("-17")}
    ingest_ravdess(store, [_names_file(tmp_path, {16, 17}, drop=audio_17)])
    assert _audit(store, "performance_files_complete") == [
        (17, 1, 3, None, "no files of this channel and modality"),
        (17, 2, 3, None, "no files of this channel and modality"),
    ]


def _leak_through_the_audio_file(store, run: str) -> str:
    """Score the audio-only file of a fold-4 test clip of ``run`` as a training clip of fold 4
    (the test clip's own take, through another of its files). Returns the performance."""
    with store.session(write=True) as s:
        run_id, clip = s.fetch(
            "SELECT run_id, clip_id FROM posteriors WHERE run = ? AND fold = 4 "
            "AND split = 'test' ORDER BY clip_id LIMIT 1",
            [run],
        )[0]
        s.con.execute(
            "INSERT INTO lake.posteriors SELECT run_id, fold, 'train', '03' || clip_id[3:], "
            "scores FROM lake.posteriors WHERE run_id = ? AND fold = 4 AND clip_id = ?",
            [run_id, clip],
        )
    return clip[3:]


def test_the_leakage_audits_find_a_take_trained_and_tested_through_two_files(zeror_store):
    assert [r.passed for r in run_audits(zeror_store, AFTER_JOB)] == [True, True]
    performance = _leak_through_the_audio_file(zeror_store, "zeror")
    rows = _audit(zeror_store, "performance_not_in_train_and_test")
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        ("zeror", 4, performance, f"01-{performance}", f"03-{performance}")
    ]
    with pytest.raises(StoreError, match="run 'zeror' fails the audit actor_not_in_train_and_test"):
        audit_run(zeror_store, "zeror")


@pytest.mark.slow
def test_a_fusion_is_audited_through_its_inputs_after_the_job(zeror_store):
    from mmemo.jobs.fusion import fuse_runs
    from mmemo.jobs.specs import FuseSpec, StaticSpec
    from mmemo.jobs.static import train_static

    train_static(
        zeror_store,
        StaticSpec.one(name="zeror-2", model="zeror", scheme="luna2022", clips="av-speech"),
    )
    performance = _leak_through_the_audio_file(zeror_store, "zeror-2")
    # the fusion's own rows are actor-disjoint; its input zeror-2 trained on a take it tests
    with pytest.raises(StoreError) as err:
        fuse_runs(zeror_store, FuseSpec(runs=("zeror", "zeror-2"), name="fused", method="mean"))
    message = str(err.value)
    assert "run 'fused' fails the audit performance_not_in_train_and_test" in message
    assert performance in message and "mmemo sql -f checks/performance_not_in" in message
    (actor,) = run_audits(zeror_store, ["actor_not_in_train_and_test"], run="fused")
    assert actor.passed


def test_the_audit_runner_knows_its_audits(zeror_store):
    assert set(AFTER_JOB) <= set(audit_names())
    with pytest.raises(StoreError, match="no audit nope in sql/checks; audits: actor_not_in"):
        run_audits(zeror_store, ["nope"])
    assert all(r.passed for r in run_audits(zeror_store))  # every audit, whole store
