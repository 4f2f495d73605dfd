"""Layer probing: ``train static --features 'NAME/layer=*'`` (one run per layer), the recipe
``analysis/layer_accuracy`` and ``plot layers`` (one line per encoder, ± 95% CI).

The layer sets are imported vectors (``import features --name ENCODER --layer L``: sets
``ENCODER/layer=L`` that record their family and layer, as ``embed --layers`` makes them): the
emotion one-hot scaled by a per-layer signal strength plus noise, so that accuracy rises with
the signal and the runs differ.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
import sqlalchemy as sa

from mmemo.store.schema import Run

#: Signal strength per layer of the encoder ``w2v`` (conv weakest, layer 10 strongest).
W2V = {"conv": 0.2, "1": 0.5, "2": 1.0, "10": 3.0}


def _import_layers(store, tmp_path, encoder: str, signal: dict[str, float]) -> None:
    from mmemo.features.imported import import_features

    with store.session() as s:
        rows = s.fetch(
            "SELECT clip_id, emotion FROM clips WHERE modality = 1 AND vocal_channel = 1 "
            "ORDER BY clip_id"
        )
    ids = [r[0] for r in rows]
    onehot = np.eye(8)[[r[1] - 1 for r in rows]]
    for layer, strength in signal.items():
        rng = np.random.default_rng(len(encoder) * 100 + len(layer) + int(strength * 10))
        X = strength * onehot + rng.normal(size=onehot.shape)
        table = pa.table({"clip_id": ids} | {f"f{i}": X[:, i] for i in range(8)})
        path = tmp_path / f"{encoder}-{layer}.csv"
        pacsv.write_csv(table, path)
        report = import_features(store, path, name=encoder, layer=layer)
        assert report.name == f"{encoder}/layer={layer}"


def _write_layer(store, path) -> None:
    """A CSV of random 8-d vectors for the store's audio-visual speech clips."""
    with store.session() as s:
        ids = [r[0] for r in s.fetch("SELECT clip_id FROM clips WHERE modality = 1 ORDER BY 1")]
    X = np.random.default_rng(0).normal(size=(len(ids), 8))
    pacsv.write_csv(pa.table({"clip_id": ids} | {f"f{i}": X[:, i] for i in range(8)}), path)


def _columns(store, name: str) -> tuple:
    with store.session() as s:
        (row,) = s.fetch(
            "SELECT encoder, layer, pooling, family FROM feature_sets WHERE name = ?", [name]
        )
    return row


def test_import_features_layer_records_the_layer_and_builds_the_name(
    store_cli, jobs_store, tmp_path, store_state
):
    path = tmp_path / "xlsr-12.csv"
    _write_layer(jobs_store, path)
    made = store_cli(jobs_store, "import", "features", path, "--name", "xlsr", "--layer", "12")
    assert made.code == 0, made.err
    assert made.out_text.startswith("xlsr/layer=12 v1: ")
    assert _columns(jobs_store, "xlsr/layer=12") == (None, "12", None, "xlsr")
    again = store_cli(jobs_store, "import", "features", path, "--name", "xlsr", "--layer", "12")
    assert "xlsr/layer=12 v1 already holds this file; nothing to do" in again.out_text
    listed = store_cli(jobs_store, "features", "--sort", "name")
    row = next(line.split() for line in listed.out.splitlines() if line.startswith("xlsr/"))
    assert row[6:8] == ["xlsr-12.csv", "12"]  # model (the file) and layer columns

    before = store_state(jobs_store)
    alone = store_cli(jobs_store, "import", "features", path, "--name", "xlsr/layer=13")
    assert alone.code == 2
    assert "'xlsr/layer=13' names one layer of a family of sets" in alone.err_text
    assert "--name NAME --layer L" in alone.err_text
    nested = store_cli(
        jobs_store, "import", "features", path, "--name", "xlsr/layer=1", "--layer", "2"
    )
    assert nested.code == 2 and "--name 'xlsr/layer=1' already names a layer" in nested.err_text
    bad = store_cli(jobs_store, "import", "features", path, "--name", "xlsr", "--layer", "a-b")
    assert bad.code == 2 and "invalid feature set name 'xlsr/layer=a-b'" in bad.err_text
    assert store_state(jobs_store) == before


@pytest.mark.slow
def test_a_probe_grid_and_the_recipe_read_family_and_layer_from_the_records(
    store_cli, jobs_store, tmp_path
):
    """Records that disagree with the names (written here by hand) show which one the grid,
    the recipe and ``plot layers`` read: run names, order and points follow the records."""
    from mmemo.reports.report import layer_points
    from mmemo.store.schema import FeatureSet

    _import_layers(jobs_store, tmp_path, "w2v", {"conv": 0.2, "1": 1.0})
    with jobs_store.session(write=True) as s, s.orm() as orm:
        for name, layer in (("w2v/layer=conv", "7"), ("w2v/layer=1", "conv")):
            orm.execute(
                sa.update(FeatureSet)
                .where(FeatureSet.name == name)
                .values(layer=layer, family="enc")
            )
        orm.commit()
    result = _probe(store_cli, jobs_store, "--features", "w2v/layer=*", "--name", "probe")
    assert result.code == 0, result.err
    assert _run_names(jobs_store) == ["probe/layer=conv", "probe/layer=7"]  # in layer order
    points = layer_points(jobs_store, ["probe/*"])
    assert [(p.run, p.encoder, p.layer) for p in points] == [
        ("probe/layer=conv", "enc", "conv"),
        ("probe/layer=7", "enc", "7"),
    ]
    recipe = store_cli(jobs_store, "sql", "-f", "layer_accuracy", "--format", "csv")
    assert '"probe/layer=7","enc","7",7,"w2v/layer=conv",2,' in recipe.out_text


def test_the_probe_helpers_examples_hold():
    import doctest

    from mmemo.jobs import probes

    assert doctest.testmod(probes).failed == 0


def _run_names(store) -> list[str]:
    with store.session() as s, s.orm() as orm:
        return list(orm.scalars(sa.select(Run.name).order_by(Run.id)))


def _probe(store_cli, store, *args):
    return store_cli(
        store, "train", "static", "--clips", "av-speech", "--jobs", "1", "--model", "logreg",
        *args,
    )  # fmt: skip


@pytest.mark.slow
def test_a_glob_trains_one_run_per_layer_in_layer_order(store_cli, jobs_store, tmp_path, run_row):
    _import_layers(jobs_store, tmp_path, "w2v", W2V)
    _import_layers(jobs_store, tmp_path, "hub", {"1": 1.0})  # another encoder: not matched
    result = _probe(store_cli, jobs_store, "--features", "w2v/layer=*", "--name", "probe")
    assert result.code == 0, result.err
    expected = ["probe/layer=conv", "probe/layer=1", "probe/layer=2", "probe/layer=10"]
    assert _run_names(jobs_store) == expected
    for name, layer in zip(expected, W2V, strict=True):
        assert f"run {name} (120 clips, 2 folds" in result.out_text
        run = run_row(jobs_store, name)
        assert run.inputs["features"]["name"] == f"w2v/layer={layer}"
        assert run.params == {"norm": "none"}


@pytest.mark.slow
def test_a_param_grid_names_layer_then_configuration(store_cli, jobs_store, tmp_path):
    _import_layers(jobs_store, tmp_path, "w2v", {"conv": 0.2, "2": 1.0})
    result = _probe(
        store_cli, jobs_store, "--features", "w2v/layer=*", "--param", "C=0.1,1", "--name", "p"
    )
    assert result.code == 0, result.err
    assert _run_names(jobs_store) == [
        "p/layer=conv,C=0.1,norm=none",
        "p/layer=conv,C=1,norm=none",
        "p/layer=2,C=0.1,norm=none",
        "p/layer=2,C=1,norm=none",
    ]


@pytest.mark.slow
def test_a_glob_over_several_encoders_keeps_the_encoder_in_the_name(
    store_cli, jobs_store, tmp_path
):
    _import_layers(jobs_store, tmp_path, "w2v", {"1": 1.0})
    _import_layers(jobs_store, tmp_path, "hub", {"conv": 0.5, "1": 1.0})
    result = _probe(store_cli, jobs_store, "--features", "*/layer=*", "--name", "probe")
    assert result.code == 0, result.err
    assert _run_names(jobs_store) == [
        "probe/hub/layer=conv",
        "probe/hub/layer=1",
        "probe/w2v/layer=1",
    ]


def test_a_glob_matching_nothing_names_the_sets_there_are(store_cli, jobs_store, store_state):
    before = store_state(jobs_store)
    result = _probe(store_cli, jobs_store, "--features", "w2v/layer=*", "--name", "probe")
    assert result.code == 2
    assert "--features 'w2v/layer=*' matches no complete feature set" in result.err
    assert "complete sets: aus" in result.err
    assert store_state(jobs_store) == before


@pytest.mark.slow
def test_a_name_in_use_refuses_the_whole_grid_before_training(store_cli, jobs_store, tmp_path):
    _import_layers(jobs_store, tmp_path, "w2v", {"conv": 0.2, "1": 1.0})
    # another seed: the run is not the one the grid makes (that one the grid would keep)
    first = _probe(
        store_cli, jobs_store, "--features", "w2v/layer=1", "--name", "probe/layer=1", "--seed", "1"
    )
    assert first.code == 0, first.err
    result = _probe(store_cli, jobs_store, "--features", "w2v/layer=*", "--name", "probe")
    assert result.code == 2
    assert "run 'probe/layer=1' already exists (complete) with other seed" in result.err
    assert _run_names(jobs_store) == ["probe/layer=1"]  # layer conv was not trained either


@pytest.mark.slow
def test_the_recipe_gives_encoder_layer_and_the_reports_accuracy(store_cli, jobs_store, tmp_path):
    from mmemo.reports.report import layer_accuracy_rows, summarize_runs

    _import_layers(jobs_store, tmp_path, "w2v", W2V)
    assert _probe(store_cli, jobs_store, "--features", "w2v/layer=*", "--name", "probe").code == 0
    assert _probe(store_cli, jobs_store, "--features", "aus", "--name", "plain").code == 0
    rows = layer_accuracy_rows(jobs_store)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("probe/layer=conv", "w2v", "conv", -1),
        ("probe/layer=1", "w2v", "1", 1),
        ("probe/layer=2", "w2v", "2", 2),
        ("probe/layer=10", "w2v", "10", 10),
    ]  # the run on 'aus' is no probe run
    summaries = {s.run: s for s in summarize_runs(jobs_store, ["probe/*"])}
    for run, *_, folds, accuracy in rows:
        assert folds == 2
        assert accuracy == pytest.approx(round(summaries[run].accuracy, 2), abs=1e-9)
    cli_rows = store_cli(jobs_store, "sql", "-f", "layer_accuracy", "--format", "csv")
    assert cli_rows.code == 0, cli_rows.err
    assert '"probe/layer=10","w2v","10",10,"w2v/layer=10",2,' in cli_rows.out_text


@pytest.mark.slow
def test_plot_layers_draws_one_line_per_encoder_with_the_reports_ci(
    store_cli, jobs_store, tmp_path
):
    from mmemo.reports.analysis_figures import layers_figure
    from mmemo.reports.report import layer_points, summarize_runs

    _import_layers(jobs_store, tmp_path, "w2v", W2V)
    _import_layers(jobs_store, tmp_path, "hub", {"1": 1.0, "2": 3.0})
    assert _probe(store_cli, jobs_store, "--features", "*/layer=*", "--name", "probe").code == 0
    out = tmp_path / "layers.png"
    result = store_cli(jobs_store, "plot", "layers", "probe/*", "--out", str(out))
    assert result.code == 0, result.err
    assert out.stat().st_size > 0
    summaries = {s.run: s for s in summarize_runs(jobs_store, ["probe/*"])}
    ax = layers_figure(layer_points(jobs_store, ["probe/*"])).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["conv", "1", "2", "10"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["hub", "w2v"]
    hub, w2v = ax.containers  # one errorbar container per line, in legend order
    assert list(w2v.lines[0].get_xdata()) == [0, 1, 2, 3]
    assert list(w2v.lines[0].get_ydata()) == [
        summaries[f"probe/w2v/layer={layer}"].accuracy for layer in W2V
    ]
    assert list(hub.lines[0].get_xdata()) == [1, 2]
    # the error bar of each point spans accuracy ± its 95% CI
    segments = w2v.lines[2][0].get_segments()
    for segment, layer in zip(segments, W2V, strict=True):
        s = summaries[f"probe/w2v/layer={layer}"]
        assert segment[0][1] == pytest.approx(s.accuracy - s.ci95)
        assert segment[1][1] == pytest.approx(s.accuracy + s.ci95)
    assert summaries["probe/w2v/layer=10"].accuracy > summaries["probe/w2v/layer=conv"].accuracy


def test_plot_layers_refuses_runs_that_are_no_probe_runs(store_cli, jobs_store, tmp_path):
    assert _probe(store_cli, jobs_store, "--features", "aus", "--name", "plain").code == 0
    result = store_cli(jobs_store, "plot", "layers", "plain", "--out", str(tmp_path / "l.png"))
    assert result.code == 2
    assert "run 'plain' was not trained on a feature set named ENCODER/layer=L" in result.err
    assert not (tmp_path / "l.png").exists()
