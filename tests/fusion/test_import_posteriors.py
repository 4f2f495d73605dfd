"""``mmemo import posteriors``: scores made elsewhere, as a run like any other."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

LABELS = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
#: The file's column order (by emotion code) and two ways of naming it on --classes.
ORDER = [8, 1, 6, 3, 7, 2, 5, 4]
SPELLINGS = {
    "aliases": "Surprise,NEUTRAL,fear,Happy,disgusted,calm,ANGRY,Sad",
    "codes": "08,01,06,03,07,02,05,04",
}


def _rows(fus_scores, store, run: str = "lr") -> list[dict]:
    """The run's test posteriors as file rows: id with an extension, scores in ORDER."""
    rows = []
    for (fold, split), (ids, scores) in sorted(fus_scores(store, run).items()):
        if split != "test":
            continue
        for clip, vector in zip(ids, scores, strict=True):
            row = {"name": f"{clip}.mp4", "fold": fold, "split": split}
            row |= {f"score_{code}": repr(float(vector[code - 1])) for code in ORDER}
            rows.append(row)
    return rows


def _write(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _import(store_cli, store, path: Path, classes: str = SPELLINGS["aliases"], *extra):
    return store_cli(
        store, "import", "posteriors", path, "--name", "imp", "--id-col", "name",
        "--fold-col", "fold", "--split-col", "split", "--kind", "probs", "--classes", classes,
        *extra,
    )  # fmt: skip


def _report(store_cli, store, run: str) -> dict:
    result = store_cli(store, "report", run, "--format", "json")
    assert result.code == 0, result.err
    (summary,) = json.loads(result.out)
    return summary


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_imported_run_reports_like_the_original(
    store_cli, fus_store, fus_scores, run_row, tmp_path, spelling
):
    path = _write(tmp_path / "scores.csv", _rows(fus_scores, fus_store))
    result = _import(store_cli, fus_store, path, SPELLINGS[spelling])
    assert result.code == 0, result.err
    assert "120 test clip(s)" in result.out_text
    original, imported = _report(store_cli, fus_store, "lr"), _report(store_cli, fus_store, "imp")
    for key in ("accuracy", "ci95", "n", "folds", "uar", "macro_f1"):
        assert imported[key] == original[key], key
    run = run_row(fus_store, "imp")
    assert run.kind == "import" and run.classes == list(range(1, 9))
    assert run.score_kind == "probs" and run.params["classes_given"] == ORDER
    got, want = fus_scores(fus_store, "imp"), fus_scores(fus_store, "lr")
    for key, (ids, scores) in got.items():  # stored in the canonical class order, exactly
        assert ids == want[key][0] and np.array_equal(scores, want[key][1])


@pytest.mark.slow
def test_imported_test_only_run_fuses_by_rule_but_not_by_logreg(
    store_cli, fus_store, fus_scores, tmp_path
):
    path = _write(tmp_path / "scores.csv", _rows(fus_scores, fus_store))
    assert _import(store_cli, fus_store, path).code == 0
    trained = store_cli(fus_store, "fuse", "imp", "svc", "--name", "F")
    assert trained.code == 2
    assert "no training-clip scores" in trained.err_text and "imp" in trained.err_text
    rule = store_cli(fus_store, "fuse", "imp", "svc", "--name", "F", "--method", "mean")
    assert rule.code == 0, rule.err
    assert _report(store_cli, fus_store, "F")["n"] == 120


def _wrong_fold(rows):
    rows[0]["fold"] = 4 if rows[0]["fold"] == 0 else 0
    return rows, "is a test clip of fold"


def _twice(rows):
    return [*rows, dict(rows[3])], "appears twice in fold"


def _no_test_fold(rows):
    for row in rows:
        if row["fold"] == 0:
            row["split"] = "train"
    return rows, "fold(s) [0] have no test clips"


def _nan(rows):
    rows[5]["score_3"] = "NaN"
    return rows, "NaN or infinite score in row 7"


def _inf(rows):
    rows[5]["score_3"] = "inf"
    return rows, "NaN or infinite score in row 7"


def _unknown_clip(rows):
    rows[2]["name"] = "01-01-01-01-01-01-24.mp4"
    return rows, "unknown to the store: 01-01-01-01-01-01-24"


@pytest.mark.parametrize(
    "broken",
    [_wrong_fold, _twice, _no_test_fold, _nan, _inf, _unknown_clip],
    ids=lambda f: f.__name__,
)
def test_bad_files_are_refused_and_the_store_is_unchanged(
    store_cli, fus_store, fus_scores, store_state, tmp_path, broken
):
    rows, message = broken(_rows(fus_scores, fus_store))
    path = _write(tmp_path / "scores.csv", rows)
    before = store_state(fus_store)
    result = _import(store_cli, fus_store, path)
    assert result.code == 2, result.out + result.err
    assert message in result.err_text
    assert store_state(fus_store) == before


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ("surprise,neutral,fear,happy,disgusted,calm,angry", "--classes names 7"),
        ("surprise,neutral,fear,joyful,disgusted,calm,angry,sad", "unknown label 'joyful'"),
        ("surprise,neutral,fear,happy,disgusted,calm,angry,09", "unknown label '09'"),
        ("surprise,neutral,fear,happy,disgusted,calm,angry,angry", "names a class twice"),
    ],
    ids=["too-short", "unknown-label", "bad-code", "twice"],
)
def test_bad_classes_are_refused(
    store_cli, fus_store, fus_scores, store_state, tmp_path, classes, message
):
    path = _write(tmp_path / "scores.csv", _rows(fus_scores, fus_store))
    before = store_state(fus_store)
    result = _import(store_cli, fus_store, path, classes)
    assert result.code == 2, result.out + result.err
    assert message in result.err_text
    assert store_state(fus_store) == before


def test_refused_import_on_a_new_scheme_leaves_the_store_unchanged(
    store_cli, fus_store, fus_scores, store_state, tmp_path
):
    """A refused import must not fix a fold scheme that was never used (registry
    fold_assignments) either."""
    rows, message = _wrong_fold(_rows(fus_scores, fus_store))
    path = _write(tmp_path / "scores.csv", rows)
    before = store_state(fus_store)
    result = _import(store_cli, fus_store, path, SPELLINGS["codes"], "--scheme", "loao")
    assert result.code == 2, result.out + result.err
    assert store_state(fus_store) == before
