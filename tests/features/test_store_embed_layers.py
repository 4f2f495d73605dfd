"""``mmemo embed --layers``: every layer of one forward pass stored as one feature set per
layer (``NAME/layer=L``), equal to separate ``--layer L`` calls, resumable and a no-op when
done; other encoder families (Whisper) through the same command."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from mmemo.testing.tiny_models import TINY_NUM_LAYERS, build_tiny_encoder  # noqa: E402

#: 15 full-AV speech clips of actor 1.
ACTOR_1 = "modality = 1 AND vocal_channel = 1 AND statement = 1 AND repetition = 1 AND actor = 1"


def _stored(store, name: str) -> dict[str, np.ndarray]:
    with store.session() as s:
        rows = s.fetch("SELECT clip_id, vector FROM clip_vectors WHERE feature_set = ?", [name])
    return {clip: np.asarray(vector, dtype=np.float64) for clip, vector in rows}


def _params(store, name: str) -> dict:
    import json

    with store.session() as s:
        (params,) = s.fetch("SELECT params FROM feature_sets WHERE name = ?", [name])[0]
    return params if isinstance(params, dict) else json.loads(params)


def _columns(store, name: str) -> tuple:
    """(encoder, layer, pooling, family) of the set ``name``, as its record holds them."""
    with store.session() as s:
        (row,) = s.fetch(
            "SELECT encoder, layer, pooling, family FROM feature_sets WHERE name = ?", [name]
        )
    return row


@pytest.mark.slow
def test_layers_in_one_pass_equal_separate_layer_calls(
    feat_store, store_cli, tiny_w2v2, one_torch_thread
):
    tiny = tiny_w2v2[True]
    run = store_cli(
        feat_store, "embed", tiny, "--name", "w", "--layers", "conv,2-3", "--clips", ACTOR_1
    )
    assert run.code == 0, run.err
    for layer in ("conv", 2, 3):
        assert f"w/layer={layer} v1: 15 clip(s)" in run.out_text
        params = _params(feat_store, f"w/layer={layer}")
        assert params["layer"] == layer
        # the family and the layer are columns of the record, beside what made the set
        columns = (params["model"], str(layer), "mean", "w")
        assert _columns(feat_store, f"w/layer={layer}") == columns
    for layer in ("conv", "3"):
        alone = store_cli(
            feat_store, "embed", tiny, "--name", f"one{layer}", "--layer", layer, "--clips", ACTOR_1
        )
        assert alone.code == 0, alone.err
        assert _columns(feat_store, f"one{layer}")[1:] == (layer, "mean", None)  # no family
        together, single = (
            _stored(feat_store, f"w/layer={layer}"),
            _stored(feat_store, f"one{layer}"),
        )
        assert sorted(together) == sorted(single) and len(single) == 15
        for clip in single:
            np.testing.assert_allclose(together[clip], single[clip], atol=1e-6)
    # a separate call under the per-layer name finds the set made by --layers: nothing to do
    again = store_cli(
        feat_store, "embed", tiny, "--name", "w/layer=2", "--layer", "2", "--clips", ACTOR_1
    )
    assert "w/layer=2 v1 already holds these embeddings; nothing to do" in again.out_text
    # all = conv + every layer; the three made above are skipped, the new one computed
    every = store_cli(
        feat_store, "embed", tiny, "--name", "w", "--layers", "all", "--clips", ACTOR_1
    )
    assert every.code == 0, every.err
    assert "w/layer=1 v1: 15 clip(s)" in every.out_text
    assert every.out_text.count("nothing to do") == 3
    assert len(_stored(feat_store, "w/layer=1")) == 15


def test_a_layer_name_given_alone_is_refused_before_the_model_loads(
    feat_store, store_cli, store_state, tiny_w2v2, monkeypatch
):
    """``NAME/layer=L`` is made from NAME and L (``--layers``), so that the set records its
    family; given whole to ``--layer`` it would make a set no probe grid sees as a layer."""
    from mmemo.features import encoders

    def never(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(encoders, "load_encoder", never)
    before = store_state(feat_store)
    tiny = tiny_w2v2[True]
    result = store_cli(feat_store, "embed", tiny, "--name", "z/layer=2", "--layer", "2")
    assert result.code == 2, result.err
    assert "'z/layer=2' names one layer of a family of sets" in result.err_text
    assert "--name NAME --layers L" in result.err_text
    nested = store_cli(feat_store, "embed", tiny, "--name", "z/layer=2", "--layers", "1")
    assert nested.code == 2 and "--name 'z/layer=2' already names a layer" in nested.err_text
    assert store_state(feat_store) == before


@pytest.mark.slow
def test_layers_resume_after_an_interrupt(
    feat_store, store_cli, tiny_w2v2, monkeypatch, one_torch_thread
):
    from mmemo.features import embed as embed_mod

    tiny = tiny_w2v2[True]

    def spec(name: str, **chunk: int) -> embed_mod.EmbedSpec:
        return embed_mod.EmbedSpec(
            model=str(tiny), name=name, layers="conv,1", clips=ACTOR_1, **chunk
        )

    calls = {"n": 0}
    real = embed_mod._commit

    def crash_on_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # chunk 2, first layer: layer sets now differ in progress
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(embed_mod, "_commit", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        embed_mod.embed_layers(feat_store, spec("r", chunk=8))
    monkeypatch.setattr(embed_mod, "_commit", real)
    reports = embed_mod.embed_layers(feat_store, spec("r", chunk=8))
    assert [r.resumed for r in reports] == [True, True]
    assert [r.computed for r in reports] == [7, 7]
    fresh = embed_mod.embed_layers(feat_store, spec("f"))
    for layer in ("conv", "1"):
        a, b = _stored(feat_store, f"r/layer={layer}"), _stored(feat_store, f"f/layer={layer}")
        assert sorted(a) == sorted(b) and len(a) == 15
        for clip in a:
            np.testing.assert_allclose(a[clip], b[clip], atol=1e-6)  # other batch shapes
    assert all(r.snapshot_id is not None for r in fresh)


def test_bad_layer_lists_name_the_models_layers(feat_store, store_cli, tiny_w2v2, tmp_path):
    tiny = tiny_w2v2[True]
    beyond = store_cli(feat_store, "embed", tiny, "--name", "x", "--layers", "1-9")
    assert beyond.code != 0
    assert f"layer 4 is beyond the model; valid layers: conv, conv_raw, 1..{TINY_NUM_LAYERS}" in (
        beyond.err
    )
    whisper = build_tiny_encoder(tmp_path / "whisper", "whisper")
    conv = store_cli(feat_store, "embed", whisper, "--name", "x", "--layers", "conv,1")
    assert (
        conv.code != 0
        and f"bad item 'conv'; expected all or a comma list of 1..{TINY_NUM_LAYERS}" in conv.err
    )
    single = store_cli(feat_store, "embed", whisper, "--name", "x", "--layer", "conv")
    assert single.code != 0 and f"valid layers: 1..{TINY_NUM_LAYERS}" in single.err


@pytest.mark.slow
def test_whisper_layers_through_the_store(feat_store, store_cli, tmp_path, one_torch_thread):
    whisper = build_tiny_encoder(tmp_path / "whisper", "whisper")
    run = store_cli(
        feat_store, "embed", whisper, "--name", "wh", "--layers", "all", "--clips", ACTOR_1
    )
    assert run.code == 0, run.err
    for layer in range(1, TINY_NUM_LAYERS + 1):
        vectors = _stored(feat_store, f"wh/layer={layer}")
        assert len(vectors) == 15 and next(iter(vectors.values())).shape == (32,)
    assert not np.allclose(
        next(iter(_stored(feat_store, "wh/layer=1").values())),
        next(iter(_stored(feat_store, "wh/layer=3").values())),
    )
