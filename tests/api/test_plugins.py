"""Your own model (issue 24): any scikit-learn classifier by its import path, and a model kind
an installed package registers through the entry-point group ``mmemo.model_kinds``, each
trained, applied, fused and reported like a built-in kind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
RF = "sklearn.ensemble:RandomForestClassifier"


@pytest.fixture()
def installed_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example plug-in package as if installed (its folder and .dist-info on sys.path);
    the registries forget it afterwards."""
    from mmemo.models.registry import MODEL_KINDS
    from mmemo.models.static_models import STATIC_MODELS

    monkeypatch.syspath_prepend(str(PLUGINS))
    for registry in (MODEL_KINDS, STATIC_MODELS):
        monkeypatch.setattr(registry, "_plugins", None)
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))


def _train(store_cli, store, model: str, name: str, *extra: str):
    result = store_cli(
        store, "train", "static", "--model", model, "--features", "aus:mean",
        "--scheme", "kfold:2:2020", "--name", name, "--jobs", "1", *extra,
    )  # fmt: skip
    assert result.code == 0, result.err
    return result


@pytest.mark.slow
def test_a_plugin_kind_and_a_classifier_by_path_train_predict_fuse_and_report(
    store_cli, aus_store, run_row, installed_plugin, predicts_its_posteriors
):
    listed = store_cli(aus_store, "models")
    assert listed.code == 0, listed.err
    assert "example-gnb" in listed.out and "plugin mmemo-example-plugin 0.1" in listed.out_text
    _train(store_cli, aus_store, "example-gnb", "gnb")
    _train(store_cli, aus_store, "example-centroid", "centroid", "--param", "metric=cityblock")
    _train(store_cli, aus_store, RF, "rf", "--param", "n_estimators=20")
    assert run_row(aus_store, "gnb").model == "example-gnb"
    rf = run_row(aus_store, "rf")
    assert rf.model == RF and rf.params["n_estimators"] == 20
    assert rf.inputs["estimator"]["package"] == "sklearn" and rf.inputs["estimator"]["version"]
    assert run_row(aus_store, "centroid").params["metric"] == "cityblock"
    for run in ("gnb", "rf", "centroid"):
        predicts_its_posteriors(aus_store, run, atol=1e-12)
    fused = store_cli(aus_store, "fuse", "gnb", "rf", "centroid", "--name", "all3")
    assert fused.code == 0, fused.err
    report = store_cli(aus_store, "report", "gnb", "rf", "centroid", "all3", "--format", "json")
    assert report.code == 0, report.err
    assert [r["run"] for r in json.loads(report.out)] == ["gnb", "rf", "centroid", "all3"]
    refused = store_cli(
        aus_store, "train", "static", "--model", "example-centroid", "--features", "aus:mean",
        "--param", "metric=cosine", "--name", "bad",
    )  # fmt: skip
    assert refused.code == 2 and "metric must be one of" in refused.err_text


@pytest.mark.parametrize(
    ("model", "extra", "message"),
    [
        ("sklearn.ensemble:NoSuchForest", [], "cannot import it"),
        ("no_such_package.x:Model", [], "cannot import it"),
        ("sklearn.preprocessing:StandardScaler", [], "not a scikit-learn classifier"),
        (RF, ["--param", "n_trees=5"], "has no hyper-parameter 'n_trees'"),
        (RF, ["--param", "n_estimators=-3"], "n_estimators"),
    ],
)
def test_a_bad_import_path_or_parameter_is_one_line_and_changes_nothing(
    store_cli, aus_store, store_state, model, extra, message
):
    before = store_state(aus_store)
    result = store_cli(
        aus_store, "train", "static", "--model", model, "--features", "aus:mean",
        "--name", "bad", *extra,
    )  # fmt: skip
    assert result.code == 2, result.out
    assert message in result.err_text and len(result.err.strip().splitlines()) == 1
    assert store_state(aus_store) == before


def _tiny_unispeech_sat(out: Path) -> Path:
    """A tiny random UniSpeech-SAT checkpoint: a family mmemo does not ship."""
    transformers = pytest.importorskip("transformers")
    from mmemo.demo.tiny_wav2vec2 import save_seeded, save_wave_feature_extractor, tiny_raw_shape

    config = transformers.UniSpeechSatConfig(do_stable_layer_norm=True, **tiny_raw_shape())
    path = save_seeded(transformers.UniSpeechSatModel, config, out, seed=0)
    save_wave_feature_extractor(path, attention_mask=True)
    return path


@pytest.mark.slow
def test_a_plugin_encoder_family_embeds_every_layer_like_a_built_in(
    store_cli, ingested_store, monkeypatch, tmp_path
):
    pytest.importorskip("torch")
    checkpoint = _tiny_unispeech_sat(tmp_path / "uss")
    few = "actor = 1 AND modality = 3 AND vocal_channel = 1 AND repetition = 1"
    refused = store_cli(ingested_store, "embed", checkpoint, "--name", "uss", "--clips", few)
    assert refused.code == 2 and "'unispeech-sat'; supported encoder families" in refused.err_text
    monkeypatch.syspath_prepend(str(PLUGINS))
    made = store_cli(
        ingested_store, "embed", checkpoint, "--name", "uss", "--layers", "all", "--clips", few
    )
    assert made.code == 0, made.err
    listed = store_cli(ingested_store, "models")
    assert "unispeech-sat" in listed.out and "plugin mmemo-example-plugin 0.1" in listed.out_text
    with ingested_store.session() as s:
        sets = s.fetch("SELECT name, encoder, layer, family FROM feature_sets ORDER BY id")
    assert [row[2] for row in sets] == ["conv", "1", "2", "3"]
    assert {row[3] for row in sets} == {"uss"} and {row[1] for row in sets} == {str(checkpoint)}


@pytest.mark.local_only("an adapter's work is the same on every backend")
def test_a_plugin_corpus_ingests_through_ingest_corpus(store_cli, store, tmp_path, monkeypatch):
    """A corpus an installed package registers (``mmemo.corpora``): ingested by name, its
    speakers numbered by the store, its classes recorded; an unknown name lists the corpora."""
    from mmemo.corpora.adapters import CORPORA
    from mmemo.corpora.synth.manifest import create_manifest

    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.setattr(CORPORA, "_plugins", None)
    monkeypatch.setattr(CORPORA, "_entries", dict(CORPORA._entries))
    made = create_manifest(tmp_path / "m", speakers=1, per_speaker=3, seconds=0.2)
    folder = tmp_path / "TESS"
    folder.mkdir()
    names = ["OAF_back_angry.wav", "YAF_dog_ps.wav", "OAF_back_joy.wav"]
    for row, name in zip(made.rows, names, strict=True):
        (folder / name).write_bytes((made.root / row["file"]).read_bytes())
    result = store_cli(store, "ingest", "corpus", "example-tess", folder)
    assert result.code == 0, result.err
    assert "2 TESS file(s): 2 added" in result.out_text and "1 invalid name(s)" in result.out_text
    assert "emotion joy is not one of TESS's" in result.err_text
    assert CORPORA.origin("example-tess") == "plugin mmemo-example-plugin 0.1"
    with store.session() as s:
        rows = s.fetch("SELECT clip_id, speaker, actor, label FROM clips ORDER BY clip_id")
        assert s.fetch("SELECT name FROM datasets") == [("example-tess",)]
    assert rows == [
        ("example-tess:OAF_back_angry.wav", "OAF", 10001, "angry"),
        ("example-tess:YAF_dog_ps.wav", "YAF", 10002, "surprised"),
    ]
    unknown = store_cli(store, "ingest", "corpus", "nope", folder)
    assert (
        unknown.code == 2 and "example-tess" in unknown.err_text and "crema-d" in unknown.err_text
    )
