"""``mmemo ingest emobox`` on the synthetic EmoBox layout: its manifest, label map and folds,
and ``--scheme emobox`` giving EmoBox's folds of whichever corpus the clips belong to
(issue 25)."""

from __future__ import annotations

import json

import pytest

from mmemo.corpora.synth.emobox import create_emobox

pytestmark = pytest.mark.local_only(
    "an adapter's work is the same on every backend; test_crema_d's ingest runs on both"
)


def _ingest(cli, store, made):
    return cli("--store", store.root, "ingest", "emobox", made.folder, "--root", made.root)


def test_an_emobox_corpus_ingests_with_its_labels_and_speaker_independent_groups(
    cli, store, tmp_path
):
    made = create_emobox(tmp_path / "eb", speakers=4, per_speaker=5, folds=2, train_only=1)
    result = _ingest(cli, store, made)
    assert result.code == 0, result.err
    assert "25 EmoBox toybox file(s): 25 added" in result.out_text
    with store.session() as s:
        rows = s.fetch("SELECT clip_id, speaker, dataset FROM clips ORDER BY clip_id")
        labels = s.fetch("SELECT label FROM emotions WHERE dataset = 'toybox' ORDER BY emotion")
    groups = {c.removeprefix("toybox:"): speaker for c, speaker, _ in rows}
    expected = {k: f"fold{f}" if f else "train" for k, f in made.folds.items()}
    assert groups == expected
    assert {d for _, _, d in rows} == {"toybox"}
    assert [x for (x,) in labels] == ["neutral", "happy", "sad", "angry", "fearful"]


@pytest.mark.slow  # > 3.5 s
def test_scheme_emobox_gives_the_corpus_folds_back(cli, store, tmp_path):
    made = create_emobox(tmp_path / "eb", speakers=4, per_speaker=5, folds=2, train_only=1)
    assert _ingest(cli, store, made).code == 0
    trained = cli(
        "--store",
        store.root,
        "train",
        "static",
        "--model",
        "zeror",
        "--clips",
        "all",
        "--scheme",
        "emobox",
        "--name",
        "z",
    )
    assert trained.code == 0, trained.err
    with store.session() as s:
        tested = dict(
            s.fetch("SELECT clip_id, fold FROM posteriors WHERE run = 'z' AND split = 'test'")
        )
        trained_only = s.fetch(
            "SELECT count(DISTINCT clip_id), count(DISTINCT fold) FROM posteriors "
            "WHERE run = 'z' AND split = 'train' AND clip_id IN (SELECT clip_id FROM clips "
            "WHERE speaker = 'train')"
        )
    assert {c.removeprefix("toybox:"): f for c, f in tested.items()} == {
        k: f - 1 for k, f in made.folds.items() if f
    }
    assert trained_only == [(5, 2)]  # the speaker no fold tests: trained on in both folds


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        ("label_map", "cannot read EmoBox's label map"),
        ("emotion", "emotion 'x' is not in its label_map.json"),
        ("ravdess", "EmoBox's RAVDESS is RAVDESS"),
    ],
)
def test_a_broken_emobox_folder_is_one_line_and_changes_nothing(
    cli, store, tmp_path, store_state, edit, problem
):
    corpus = "ravdess" if edit == "ravdess" else "toybox"
    made = create_emobox(tmp_path / "eb", corpus=corpus, speakers=2, per_speaker=2, folds=2)
    if edit == "label_map":
        (made.folder / "label_map.json").write_text("{not json", encoding="utf-8")
    elif edit == "emotion":
        manifest = made.folder / "toybox.jsonl"
        rows = [json.loads(line) for line in manifest.read_text().splitlines()]
        rows[0]["emo"] = "x"
        manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    before = store_state(store)
    result = _ingest(cli, store, made)
    assert result.code == 2, result.out
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert problem in result.err_text
    assert store_state(store) == before
