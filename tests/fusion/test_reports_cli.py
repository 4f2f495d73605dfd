"""``mmemo report``, ``plot runs``, ``compare``, ``export`` and the SQL analysis files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"
LABELS = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
#: Columns of the complementarity_by_* files after the emotion or actor.
COMPLEMENTARITY = [
    "n",
    "both_right",
    "only_a",
    "only_b",
    "neither",
    "accuracy_a",
    "accuracy_b",
    "oracle",
    "kappa",
    "yule_q",
]
#: Columns every sql/analysis file returns.
ANALYSIS_COLUMNS = {
    "accuracy_by_actor": ["run", "actor", "n", "accuracy"],
    "accuracy_by_gender": ["run", "gender", "n", "accuracy"],
    "accuracy_by_intensity": ["run", "intensity", "n", "accuracy"],
    "accuracy_by_statement": ["run", "statement", "n", "accuracy"],
    "always_wrong": ["clip_id", "true_label", "runs_wrong", "predictions"],
    "clip_counts": ["dataset", "modality", "channel", "emotion", "clips"],
    "complementarity_by_actor": ["actor", *COMPLEMENTARITY],
    "complementarity_by_emotion": ["emotion", *COMPLEMENTARITY],
    "confusions": ["run", "true_label", "predicted_label", "n", "pct_of_true_label"],
    "corpus_matrix": ["run", "trained_on", "tested_on", "clips", "accuracy", "uar"],
    "fold_accuracy": ["run", "fold", "n", "accuracy", "mean_over_folds"],
    "layer_accuracy": ["run", "encoder", "layer", "layer_order", "features", "folds", "accuracy"],
    "runs_right_per_clip": [
        "scheme",
        "fold",
        "clip_id",
        "emotion",
        "actor",
        "n_right",
        "n_runs",
        "right_runs",
        "wrong_runs",
    ],
    "top_attention_frames": ["run", "clip_id", "frame", "weight", "rank"],
}
#: ``--param`` values of the analysis files that take parameters.
ANALYSIS_PARAMS = {
    "corpus_matrix": ["runs=lr,knn"],
    "complementarity_by_actor": ["run_a=lr", "run_b=knn"],
    "complementarity_by_emotion": ["run_a=lr", "run_b=knn"],
    "runs_right_per_clip": ["runs=lr,knn,svc"],
}


def _ok(result):
    assert result.code == 0, result.out + result.err
    return result


def _json(store_cli, store, *args) -> list[dict]:
    return json.loads(_ok(store_cli(store, "report", *args, "--format", "json")).out)


def test_report_json_has_the_papers_fields(store_cli, fus_store):
    (summary,) = _json(store_cli, fus_store, "lr")
    assert {"run", "accuracy", "ci95", "n", "folds", "uar", "macro_f1"} <= set(summary)
    assert "per_class" not in summary
    assert summary["run"] == "lr" and summary["n"] == 120 and len(summary["folds"]) == 2
    assert summary["accuracy"] == pytest.approx(np.mean(summary["folds"]))
    for key in ("accuracy", "uar", "macro_f1"):
        assert 0 <= summary[key] <= 100


def test_report_per_class(store_cli, fus_store):
    (summary,) = _json(store_cli, fus_store, "lr", "--per-class")
    per_class = summary["per_class"]
    assert set(per_class) == set(LABELS)
    for metrics in per_class.values():
        assert set(metrics) == {"precision", "recall", "accuracy"}
        assert all(0 <= v <= 100 for v in metrics.values())
    # recall per class averaged over the balanced folds is the unweighted average recall
    assert np.mean([m["recall"] for m in per_class.values()]) == pytest.approx(summary["uar"])


def test_report_globs_and_order(store_cli, fus_store):
    # lr-k2 is on another fold scheme: one table holds the runs of one scheme (issue 14)
    runs = [s["run"] for s in _json(store_cli, fus_store, "lr*", "svc", "--scheme", "luna2022")]
    assert runs == ["lr", "lr-n1", "svc"]
    mixed = store_cli(fus_store, "report", "lr*", "svc", "--format", "json")
    assert mixed.code == 2 and "lr-k2 (kfold:2:7)" in mixed.err_text


def test_markdown_bolds_the_best_of_its_group(store_cli, fus_store):
    accuracy = {s["run"]: s["accuracy"] for s in _json(store_cli, fus_store, "svc", "lr", "knn")}
    best = {r for r, a in accuracy.items() if round(a, 2) == round(max(accuracy.values()), 2)}
    out = _ok(store_cli(fus_store, "report", "svc", "lr", "knn", "--format", "markdown")).out
    body = [line for line in out.splitlines() if "aus@1" in line]
    assert len(body) == 3
    bold = [line for line in body if "**" in line]
    model = {"svc": "svc", "lr": "logreg", "knn": "knn"}
    assert {next(r for r in model if f"| **{model[r]}** |" in line) for line in bold} == best


def test_latex_is_booktabs(store_cli, fus_store):
    out = _ok(store_cli(fus_store, "report", "svc", "lr", "--format", "latex")).out
    for rule in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}", r"\textbf{"):
        assert rule in out
    assert r"$\pm$" in out


def test_csv_parses(store_cli, fus_store, tmp_path):
    out = tmp_path / "table.csv"
    _ok(store_cli(fus_store, "report", "svc", "lr", "--format", "csv", "--out", out))
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [r["run"] for r in rows] == ["svc", "lr"]
    accuracy = {s["run"]: s["accuracy"] for s in _json(store_cli, fus_store, "svc", "lr")}
    for row in rows:
        assert float(row["accuracy"]) == pytest.approx(accuracy[row["run"]], abs=0.01)


def test_baselines_add_zeror_and_human_rows(store_cli, fus_store):
    rows = _json(store_cli, fus_store, "lr", "--baselines")
    by_accuracy = {round(r["accuracy"], 2) for r in rows if r.get("source")}
    assert {67.0, 75.0} <= by_accuracy  # the human-perception rows the paper quotes
    zeror = [r for r in rows if "zeror" in r["run"].lower()]
    assert len(zeror) == 1 and zeror[0]["accuracy"] == pytest.approx(100 * 8 / 60)
    assert rows[-1]["run"] == "lr"
    table = _ok(store_cli(fus_store, "report", "lr", "--baselines")).out
    assert "ZeroR" in table and "Human perception" in table


def test_confusion_figure(store_cli, fus_store, tmp_path):
    out = tmp_path / "confusion.png"
    _ok(store_cli(fus_store, "report", "lr", "--confusion", out))
    assert out.read_bytes()[:8] == PNG
    many = store_cli(fus_store, "report", "lr", "svc", "--confusion", tmp_path / "x.png")
    assert many.code == 2 and "one run" in many.err_text


def test_plot_runs(store_cli, fus_store, tmp_path):
    out = tmp_path / "runs.png"
    _ok(store_cli(fus_store, "plot", "runs", "svc", "lr", "--out", out))
    assert out.read_bytes()[:8] == PNG


def test_compare(store_cli, fus_store):
    text = _ok(store_cli(fus_store, "compare", "svc", "lr")).out_text
    assert "120 shared test clips" in text
    assert "McNemar exact p =" in text and "paired bootstrap 95% CI" in text
    result = json.loads(_ok(store_cli(fus_store, "compare", "svc", "lr", "--format", "json")).out)
    assert result["n"] == 120 and 0 <= result["p_value"] <= 1
    assert result["diff_low"] <= result["diff"] <= result["diff_high"]
    accuracy = {s["run"]: s for s in _json(store_cli, fus_store, "svc", "lr")}
    assert result["diff"] == pytest.approx(result["accuracy_a"] - result["accuracy_b"])
    assert result["accuracy_a"] == pytest.approx(accuracy["svc"]["accuracy"])  # balanced folds
    other = store_cli(fus_store, "compare", "lr", "lr-k2")
    assert other.code == 2 and "kfold:2:7" in other.err_text


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_round_trips_with_clip_metadata(store_cli, fus_store, fus_scores, tmp_path, fmt):
    out = tmp_path / f"lr.{fmt}"
    result = _ok(store_cli(fus_store, "export", "lr", "--format", fmt, "--out", out))
    assert "wrote 240 rows to" in result.out_text
    table = pq.read_table(out) if fmt == "parquet" else pacsv.read_csv(out)
    metadata = ["actor", "gender", "modality", "vocal_channel", "intensity", "statement"]
    for column in ["run", "fold", "split", "clip_id", *metadata, "true_emotion", "correct"]:
        assert column in table.column_names
    assert table.num_rows == 240
    rows = table.to_pylist()
    assert {r["run"] for r in rows} == {"lr"}
    with fus_store.session() as s:
        actor = dict(s.fetch("SELECT clip_id, actor FROM clips"))
    assert all(r["actor"] == actor[r["clip_id"]] for r in rows)
    if fmt == "parquet":
        stored = fus_scores(fus_store, "lr")
        for r in rows:
            ids, scores = stored[(r["fold"], r["split"])]
            assert r["scores"] == scores[ids.index(r["clip_id"])].tolist()


@pytest.mark.parametrize("name", sorted(ANALYSIS_COLUMNS))
def test_analysis_sql_files_run(store_cli, fus_store, tmp_path, name):
    out = tmp_path / f"{name}.parquet"
    sql = REPO / "sql" / "analysis" / f"{name}.sql"
    params = [arg for value in ANALYSIS_PARAMS.get(name, []) for arg in ("--param", value)]
    _ok(store_cli(fus_store, "sql", "-f", sql, *params, "--format", "parquet", "--out", out))
    table = pq.read_table(out)
    assert table.column_names == ANALYSIS_COLUMNS[name]
    # no bi-LSTM run, maybe no clip every run gets wrong, no run on layer sets (those rows are
    # tested in tests/jobs/test_probe_layers.py)
    if name not in ("top_attention_frames", "always_wrong", "layer_accuracy"):
        assert table.num_rows > 0


def test_every_analysis_file_is_covered():
    assert {p.stem for p in (REPO / "sql" / "analysis").glob("*.sql")} == set(ANALYSIS_COLUMNS)
