"""The walking skeleton: a ZeroR run under subject-wise CV, its registry row, its report."""

from __future__ import annotations

import json
import math

import pytest
import sqlalchemy as sa

from mmemo.store.schema import Run
from mmemo.testing.text import row_of, table_cells

TRAIN_ZEROR = (
    "train",
    "static",
    "--model",
    "zeror",
    "--scheme",
    "luna2022",
    "--clips",
    "av-speech",
)


def test_train_zeror_through_the_cli(cli, ingested_store):
    result = cli("--store", ingested_store.root, *TRAIN_ZEROR, "--name", "zeror")
    assert result.code == 0, result.err
    assert "run zeror (120 clips, 2 folds" in result.out_text
    report = cli("--store", ingested_store.root, "report", "zeror", "--format", "json")
    assert report.code == 0, report.err
    assert json.loads(report.out)[0]["n"] == 120


def test_zeror_report_json_has_the_papers_fields(cli, zeror_store):
    result = cli("--store", zeror_store.root, "report", "zeror", "--format", "json")
    assert result.code == 0, result.err
    (summary,) = json.loads(result.out)
    assert {"run", "accuracy", "ci95", "n", "folds"} <= set(summary)
    assert summary["run"] == "zeror"
    assert summary["n"] == 120
    assert len(summary["folds"]) == 2
    # ZeroR predicts one class; each actor has 8 clips of it among its 60: 13.33 % per fold.
    assert summary["folds"] == pytest.approx([100 * 8 / 60] * 2)
    assert summary["accuracy"] == pytest.approx(sum(summary["folds"]) / 2)
    p = summary["accuracy"] / 100
    assert summary["ci95"] == pytest.approx(100 * 1.96 * math.sqrt(p * (1 - p) / 120))


@pytest.mark.parametrize("fmt", ["table", "markdown", "latex", "csv"])
def test_report_formats(cli, zeror_store, fmt):
    result = cli("--store", zeror_store.root, "report", "zeror", "--format", fmt)
    assert result.code == 0, result.err
    assert "zeror" in result.out
    assert "13.33" in result.out


def test_the_run_records_how_it_was_made(zeror_store):
    with zeror_store.session() as s, s.orm() as orm:
        run = orm.scalars(sa.select(Run).where(Run.name == "zeror")).one()
        posteriors = s.fetch(
            "SELECT fold, split, count(*) FROM posteriors WHERE run = 'zeror' "
            "GROUP BY ALL ORDER BY ALL"
        )
        snapshot = s.current_snapshot()
    assert run.status == "complete"
    assert run.snapshot_id == snapshot
    assert (run.kind, run.model, run.scheme, run.clips, run.seed) == (
        "train",
        "zeror",
        "luna2022",
        "av-speech",
        2020,
    )
    assert run.params == {"norm": "none"}
    assert run.inputs["clips_snapshot"] == snapshot - 1
    assert run.classes == list(range(1, 9))
    assert run.n_clips == 120
    assert len(run.fold_seconds) == 2 and run.wall_seconds > 0
    assert run.code_version.startswith("mmemo ")
    assert "duckdb" in run.versions
    assert run.finished_at is not None and run.error is None
    assert posteriors == [(0, "test", 60), (0, "train", 60), (4, "test", 60), (4, "train", 60)]
    assert sorted(a["fold"] for a in run.artefacts) == [0, 4]
    for artefact in run.artefacts:
        assert (zeror_store.root / artefact["path"]).is_file()


def test_runs_lists_the_run(cli, zeror_store):
    result = cli("--store", zeror_store.root, "runs")
    assert result.code == 0, result.err
    assert row_of(result.out, "zeror")[1:5] == ["zeror", "luna2022", "av-speech", "complete"]


def test_tables_counts_the_runs_posteriors(cli, zeror_store):
    result = cli("--store", zeror_store.root, "tables")
    assert result.code == 0, result.err
    assert row_of(result.out, "posteriors") == ["posteriors", "view", "240"]
    assert row_of(result.out, "runs") == ["runs", "registry", "1"]


def test_reusing_a_run_name_is_refused(cli, zeror_store, store_state):
    before = store_state(zeror_store)
    result = cli("--store", zeror_store.root, *TRAIN_ZEROR, "--name", "zeror")
    assert result.code == 2
    assert "run 'zeror' already exists" in result.err_text
    assert store_state(zeror_store) == before


def test_report_of_an_unknown_run(cli, zeror_store):
    result = cli("--store", zeror_store.root, "report", "nope")
    assert result.code == 2
    assert "no complete run matches 'nope'" in result.err_text
    assert "zeror" in result.err_text


def test_a_mistyped_run_name_gets_a_did_you_mean(cli, zeror_store):
    result = cli("--store", zeror_store.root, "report", "zerr")
    assert result.code == 2
    assert "no complete run matches 'zerr' (did you mean 'zeror'?); runs: zeror" in result.err_text


def test_a_mistyped_hyper_parameter_fails_before_any_data_is_read(cli, store):
    # An empty store: had the clips or features been read first, the error would be about them.
    result = cli(
        "--store",
        store.root,
        "train",
        "static",
        "--model",
        "svc",
        "--features",
        "au_means",
        "--param",
        "C=abc",
        "--name",
        "svc",
    )
    assert result.code == 2
    assert "svc/C=abc,norm=none: The 'C' parameter of SVC must be" in result.err_text
    assert "Got 'abc' instead" in result.err_text


def test_an_unknown_fold_scheme_is_refused_listing_the_choices(cli, ingested_store, store_state):
    before = store_state(ingested_store)
    result = cli(
        "--store", ingested_store.root, *TRAIN_ZEROR[:-4], "--scheme", "bogus", "--name", "z"
    )
    assert result.code == 2
    assert "unknown fold scheme 'bogus'" in result.err_text
    for choice in ("luna2022", "loao", "kfold:K:SEED"):
        assert choice in result.err_text
    assert store_state(ingested_store) == before


def test_a_class_missing_from_a_folds_training_part_is_refused(cli, ingested_store, store_state):
    before = store_state(ingested_store)
    # Actor 1 (fold 4) without "surprised": fold 0 tests actor 2's surprised clips untrained.
    clips = "modality = 1 AND vocal_channel = 1 AND NOT (actor = 1 AND emotion = 8)"
    result = cli(
        "--store",
        ingested_store.root,
        "train",
        "static",
        "--model",
        "zeror",
        "--scheme",
        "luna2022",
        "--clips",
        clips,
        "--name",
        "z",
    )
    assert result.code == 2
    assert "fold 0" in result.err_text
    assert "surprised" in result.err_text
    assert "absent from its training part" in result.err_text
    after = store_state(ingested_store)
    for key in ("snapshot", "lake.posteriors", "runs", "ingests", "feature_sets"):
        assert after[key] == before[key], key


def test_an_empty_selection_is_refused(cli, ingested_store):
    result = cli(
        "--store", ingested_store.root, *TRAIN_ZEROR[:-2], "--clips", "actor = 24", "--name", "z"
    )
    assert result.code == 2
    assert "selects no clips" in result.err_text


def test_a_bad_sql_selection_is_refused(cli, ingested_store):
    result = cli(
        "--store", ingested_store.root, *TRAIN_ZEROR[:-2], "--clips", "no_column = 1", "--name", "z"
    )
    assert result.code == 2
    assert "--clips" in result.err_text and "no_column" in result.err_text


def test_folds_show_prints_test_actors_and_class_counts(cli, ingested_store):
    result = cli("--store", ingested_store.root, "folds", "show", "luna2022")
    assert result.code == 0, result.err
    cells = [row for row in table_cells(result.out) if row[0].isdigit()]
    assert len(cells) == 2
    assert cells[0][:4] == ["0", "2", "60", "4"]  # fold 0 tests actor 2: 60 clips, 4 neutral
    assert cells[1][:4] == ["4", "1", "60", "4"]
    assert cells[0][4:] == ["8"] * 7


def test_folds_show_unknown_scheme(cli, ingested_store):
    result = cli("--store", ingested_store.root, "folds", "show", "kfold:x")
    assert result.code == 2
    assert "luna2022, loao, kfold:K:SEED" in result.err_text


@pytest.mark.slow
def test_loao_and_kfold_runs(cli, ingested_store):
    for scheme, name in (("loao", "z-loao"), ("kfold:2:7", "z-kfold")):
        result = cli(
            "--store", ingested_store.root, *TRAIN_ZEROR[:-4], "--scheme", scheme, "--name", name
        )
        assert result.code == 0, result.err
    mixed = cli("--store", ingested_store.root, "report", "z-*", "--format", "json")
    assert mixed.code == 2 and "z-loao (loao), z-kfold (kfold:2:7)" in mixed.err_text
    summaries = {}
    for scheme in ("loao", "kfold:2:7"):  # one table per fold scheme
        report = cli(
            "--store", ingested_store.root, "report", "z-*", "--scheme", scheme, "--format", "json"
        )
        assert report.code == 0, report.err
        summaries.update({s["run"]: s for s in json.loads(report.out)})
    assert set(summaries) == {"z-loao", "z-kfold"}
    assert all(s["n"] == 120 and len(s["folds"]) == 2 for s in summaries.values())


def test_a_bad_deep_model_param_fails_before_any_data_is_read(cli, ingested_store, monkeypatch):
    """``--param max_epochs=abc`` is refused at once: loading the features would fail the
    test (the store holds no AU set at all)."""
    import mmemo.features.loading

    def boom(*args, **kwargs):
        raise AssertionError("features were read before the parameters were checked")

    monkeypatch.setattr(mmemo.features.loading, "load_sequences", boom)
    result = cli(
        "--store",
        ingested_store.root,
        "train",
        "bilstm",
        "--features",
        "aus",
        "--name",
        "b",
        "--param",
        "max_epochs=abc",
    )
    assert result.code == 2
    assert "max_epochs='abc': expected a whole number" in result.err_text
