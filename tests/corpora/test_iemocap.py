"""``mmemo ingest iemocap`` on the synthetic IEMOCAP layout: labels from the evaluation
files, the ten speakers' numbers, the usual four classes through ``common4`` and the
leave-one-session-out scheme (issue 25)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from mmemo.corpora.iemocap import CODES
from mmemo.corpora.synth.iemocap import create_iemocap

pytestmark = pytest.mark.local_only(
    "an adapter's work is the same on every backend; test_crema_d's ingest runs on both"
)


@pytest.fixture(scope="module")
def iemocap(tmp_path_factory):
    return create_iemocap(tmp_path_factory.mktemp("ie") / "IEMOCAP", sessions=2, turns=7)


def test_utterances_take_their_consensus_label_and_session_speaker(cli, store, iemocap):
    result = cli("--store", store.root, "ingest", "iemocap", iemocap.root)
    assert result.code == 0, result.err
    assert "28 IEMOCAP file(s): 28 added" in result.out_text
    assert "4 corpus table file(s) beside the corpus" in result.out_text
    with store.session() as s:
        rows = s.fetch("SELECT clip_id, label, speaker, actor, gender FROM clips")
    by_id = {c.removeprefix("iemocap:"): (label, spk, actor, g) for c, label, spk, actor, g in rows}
    assert {u: v[0] for u, v in by_id.items()} == {u: CODES[c] for u, c in iemocap.codes.items()}
    assert by_id["Ses02M_script01_1_M000"][1:] == ("Ses02M", 2022, "male")
    assert by_id["Ses01F_impro01_F000"][1:] == ("Ses01F", 2011, "female")


@pytest.mark.slow  # > 3.5 s
def test_common4_over_sessions_leaves_one_session_out_and_counts_what_it_drops(cli, store, iemocap):
    assert cli("--store", store.root, "ingest", "iemocap", iemocap.root).code == 0
    trained = cli(
        "--store",
        store.root,
        "train",
        "static",
        "--model",
        "zeror",
        "--clips",
        "all",
        "--labels",
        "common4",
        "--scheme",
        "sessions",
        "--name",
        "z",
    )
    assert trained.code == 0, trained.err
    kept = Counter(c for c in iemocap.codes.values() if c in ("neu", "hap", "exc", "sad", "ang"))
    with store.session() as s:
        inputs = s.fetch("SELECT inputs FROM runs WHERE name = 'z'")[0][0]
        truth = Counter(
            dict(
                s.fetch(
                    "SELECT true_label, count(*) FROM predictions "
                    "WHERE run = 'z' AND split = 'test' GROUP BY 1"
                )
            )
        )
        folds = s.fetch(
            "SELECT DISTINCT p.fold, c.speaker FROM posteriors p JOIN clips c USING (clip_id) "
            "WHERE run = 'z' AND split = 'test' ORDER BY ALL"
        )
    inputs = json.loads(inputs) if isinstance(inputs, str) else inputs
    assert inputs["labels"]["left_out"] == len(iemocap.codes) - sum(kept.values())
    assert truth == {
        "happy": kept["hap"] + kept["exc"],
        "neutral": kept["neu"],
        "sad": kept["sad"],
        "angry": kept["ang"],
    }
    assert folds == [(0, "Ses01F"), (0, "Ses01M"), (1, "Ses02F"), (1, "Ses02M")]


def test_sessions_is_iemocaps_and_a_bad_evaluation_code_is_one_line(
    cli, ingested_store, iemocap, tmp_path, store_state
):
    refused = cli(
        "--store",
        ingested_store.root,
        "train",
        "static",
        "--model",
        "zeror",
        "--scheme",
        "sessions",
        "--name",
        "z",
    )
    assert refused.code == 2 and "fold scheme 'sessions' is IEMOCAP's" in refused.err_text
    import shutil

    broken = tmp_path / "IEMOCAP"
    shutil.copytree(iemocap.root, broken)
    evaluation = next(broken.rglob("EmoEvaluation/*.txt"))
    text = evaluation.read_text().replace("\tneu\t", "\tjoy\t", 1).replace("\thap\t", "\tjoy\t", 1)
    evaluation.write_text(text)
    before = store_state(ingested_store)
    result = cli("--store", ingested_store.root, "ingest", "iemocap", broken)
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result.err
    assert "emotion 'joy' is not IEMOCAP's" in result.err_text
    assert evaluation.name in result.err_text
    assert store_state(ingested_store) == before
