"""``mmemo ingest audformat``: a database in the audb/audformat convention, made here with the
``audformat`` package (an optional extra: the tests skip without it)."""

from __future__ import annotations

import numpy as np
import pytest

audformat = pytest.importorskip("audformat")

pytestmark = pytest.mark.local_only(
    "an adapter's work is the same on every backend; test_crema_d's ingest runs on both"
)


def _database(root, *, segmented: bool = False):
    import soundfile as sf

    files = []
    (root / "wav").mkdir(parents=True)
    for i in range(6):
        name = f"wav/{i:03d}.wav"
        sf.write(root / name, np.sin(np.arange(1600) * (0.01 + i / 100)) * 0.1, 16000)
        files.append(name)
    db = audformat.Database(name="ToyDB", source="mmemo tests", usage="unrestricted")
    db.schemes["emotion"] = audformat.Scheme(labels=["neutral", "happiness", "sadness"])
    speakers = {"s1": {"gender": "female"}, "s2": {"gender": "male"}}
    db.schemes["speaker"] = audformat.Scheme(labels=speakers)
    index = audformat.filewise_index(files)
    db["files"] = audformat.Table(index)
    db["files"]["speaker"] = audformat.Column(scheme_id="speaker")
    db["files"]["speaker"].set(["s1"] * 3 + ["s2"] * 3)
    if segmented:
        index = audformat.segmented_index(files, [0.0] * 6, [0.05] * 6)
    db["emotion"] = audformat.Table(index)
    db["emotion"]["emotion"] = audformat.Column(scheme_id="emotion")
    db["emotion"]["emotion"].set(["neutral", "happiness", "sadness"] * 2)
    db.save(root)
    return root


def test_an_audformat_database_ingests_its_files_classes_and_speakers(cli, store, tmp_path):
    root = _database(tmp_path / "toydb")
    result = cli("--store", store.root, "ingest", "audformat", root)
    assert result.code == 0, result.err
    assert "6 audformat toydb file(s): 6 added" in result.out_text
    with store.session() as s:
        rows = s.fetch("SELECT clip_id, label, speaker, gender FROM clips ORDER BY clip_id")
        labels = s.fetch("SELECT label FROM emotions WHERE dataset = 'toydb' ORDER BY emotion")
    assert rows[0] == ("toydb:wav/000.wav", "neutral", "s1", "female")
    assert rows[4] == ("toydb:wav/004.wav", "happy", "s2", "male")
    assert [x for (x,) in labels] == ["neutral", "happy", "sad"]  # the scheme's order, spelt


def test_a_segmented_database_or_a_missing_scheme_is_one_line(cli, store, tmp_path, store_state):
    root = _database(tmp_path / "segmented", segmented=True)
    before = store_state(store)
    for args, problem in (
        ((), "segmented tables"),
        (("--label-scheme", "arousal"), "no scheme 'arousal'"),
    ):
        result = cli("--store", store.root, "ingest", "audformat", root, *args)
        assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result.err
        assert problem in result.err_text
    assert store_state(store) == before
