"""The paper's ZeroR row, from the authors' list of the 1,440 AV-speech clips (names only)."""

from __future__ import annotations

import json
from pathlib import Path

CLIP_LIST = Path(__file__).parents[1] / "data" / "luna2022_clips" / "ravdess_av_speech_clips.txt"


def test_zeror_on_the_papers_clips_reports_13_33_plus_minus_1_76(cli, store):
    ingest = cli("--store", store.root, "ingest", "ravdess", CLIP_LIST)
    assert ingest.code == 0, ingest.err
    assert "1440 added" in ingest.out_text
    train = cli(
        "--store",
        store.root,
        "train",
        "static",
        "--model",
        "zeror",
        "--scheme",
        "luna2022",
        "--clips",
        "av-speech",
        "--name",
        "zeror",
    )
    assert train.code == 0, train.err
    report = cli("--store", store.root, "report", "zeror", "--format", "json")
    assert report.code == 0, report.err
    (summary,) = json.loads(report.out)
    assert summary["run"] == "zeror"
    assert summary["n"] == 1440
    assert len(summary["folds"]) == 5
    assert (round(summary["accuracy"], 2), round(summary["ci95"], 2)) == (13.33, 1.76)
