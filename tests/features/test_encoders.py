"""Tests of the encoder families (mmemo.features.encoders) against each family's own forward.

For every family a tiny random config is built with transformers, saved with
``save_pretrained`` and loaded through mmemo's registry (the family comes from the config).
The reference for each vector is the family's own full forward of one clip with
``output_hidden_states=True``, averaged over the clip's real frames.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mmemo.errors import InputError

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from mmemo.features.batching import extract, extract_layers  # noqa: E402
from mmemo.features.encoders import encoder_shape, load_encoder  # noqa: E402
from mmemo.testing.tiny_models import (  # noqa: E402
    TINY_FAMILIES,
    TINY_NUM_LAYERS,
    TINY_WHISPER_WINDOW,
    build_tiny_encoder,
)

ATOL = 1e-5
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _waves(lengths=(3000, 8000, 12345, 8000, 5123), seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for i, n in enumerate(lengths):
        t = np.arange(n) / 16000
        tone = 0.3 * np.sin(2 * np.pi * (150 + 90 * i) * t)
        out.append((tone + 0.05 * rng.standard_normal(n) + 0.01 * i).astype(np.float32))
    return out


@pytest.fixture(scope="module")
def tiny_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("tiny-encoders")
    return {f: build_tiny_encoder(base / f, f) for f in TINY_FAMILIES}


@pytest.fixture(scope="module", params=TINY_FAMILIES)
def family(request: pytest.FixtureRequest, tiny_paths: dict[str, Path]):
    """(family, embedder, the family's own model, its feature extractor)."""
    path = tiny_paths[request.param]
    with torch.random.fork_rng(devices=[]):
        torch.set_num_threads(1)
        embedder = load_encoder(path, device="cpu")
    model = transformers.AutoModel.from_pretrained(path).eval()
    if request.param == "whisper":
        model = model.get_encoder()
    fe = transformers.AutoFeatureExtractor.from_pretrained(path)
    return request.param, embedder, model, fe


def _reference(family: str, model, fe, wave: np.ndarray, layer) -> np.ndarray:
    """T × D real frames of one clip from the family's own full forward."""
    with torch.inference_mode():
        if family != "whisper":
            values = fe(wave, sampling_rate=16000, return_tensors="pt").input_values
            out = model(values, output_hidden_states=True)
            if layer != "conv":
                return out.hidden_states[layer][0].numpy()
            if getattr(out, "extract_features", None) is not None:
                return out.extract_features[0].numpy()
            # HuBERT returns no extract_features: its feature encoder + projection LayerNorm
            conv = model.feature_extractor(values).transpose(1, 2)
            return model.feature_projection.layer_norm(conv)[0].numpy()
        parts = []
        for start in range(0, len(wave), fe.n_samples):
            window = wave[start : start + fe.n_samples]
            feats = fe(
                window,
                sampling_rate=16000,
                padding="max_length",
                return_attention_mask=True,
                return_tensors="pt",
            )
            real_mel = int(feats.attention_mask.sum())
            out = model(feats.input_features, output_hidden_states=True)
            parts.append(out.hidden_states[layer][0, : math.ceil(real_mel / 2)].numpy())
        return np.concatenate(parts)


def _layers(embedder) -> list:
    return (["conv"] if embedder.has_conv else []) + list(range(1, TINY_NUM_LAYERS + 1))


def test_registry_picks_the_family_from_the_config(family) -> None:
    name, embedder, _, _ = family
    assert embedder.info["family"] == name
    shape = encoder_shape(embedder.info["model"])
    assert shape.model_type == name and shape.num_layers == TINY_NUM_LAYERS
    assert shape.has_conv == (name != "whisper")
    assert shape.all_layers() == _layers(embedder)


def test_pooled_layers_equal_the_familys_own_full_forward(family) -> None:
    name, embedder, model, fe = family
    waves = _waves()
    if name == "whisper":  # a clip over one window (cut in 3) and one of exactly one window
        waves += _waves((TINY_WHISPER_WINDOW * 16000 * 2 + 777, TINY_WHISPER_WINDOW * 16000))
    layers = _layers(embedder)
    got = embedder.embed_layers(waves, layers=layers, frames=True)
    for wave, by_layer in zip(waves, got, strict=True):
        assert list(by_layer) == layers
        for layer in layers:
            reference = _reference(name, model, fe, wave, layer)
            np.testing.assert_allclose(by_layer[layer].frames, reference, atol=ATOL)
            np.testing.assert_allclose(by_layer[layer].pooled, reference.mean(0), atol=ATOL)


def test_batched_equals_unbatched_and_one_pass_equals_one_layer_each(family) -> None:
    _, embedder, _, _ = family
    waves = _waves()
    layers = _layers(embedder)
    batched = embedder.embed_layers(waves, layers=layers, pool="mean+std")
    for i, wave in enumerate(waves):
        (alone,) = embedder.embed_layers([wave], layers=layers, pool="mean+std")
        for layer in layers:
            np.testing.assert_allclose(batched[i][layer].pooled, alone[layer].pooled, atol=ATOL)
    for layer in layers:
        single = embedder.embed(waves, layer=layer, pool="mean+std")
        for i in range(len(waves)):
            np.testing.assert_array_equal(single[i].pooled, batched[i][layer].pooled)


def test_extract_layers_streams_every_layer_in_input_order(family) -> None:
    _, embedder, _, _ = family
    waves = _waves()
    items = [(f"c{i}", w) for i, w in enumerate(waves)]
    layers = _layers(embedder)[-2:]
    streamed = list(extract_layers(embedder, iter(items), layers=layers, max_seconds=0.5, window=2))
    assert [k for k, _ in streamed] == [k for k, _ in items]
    one = dict(extract(embedder, iter(items), layer=layers[-1]))
    for key, by_layer in streamed:
        np.testing.assert_allclose(by_layer[layers[-1]].pooled, one[key].pooled, atol=ATOL)


def test_whisper_has_no_conv_layer(tiny_paths: dict[str, Path]) -> None:
    embedder = load_encoder(tiny_paths["whisper"], device="cpu")
    with pytest.raises(
        InputError, match=rf"unknown layer 'conv' .*valid layers: 1\.\.{TINY_NUM_LAYERS}$"
    ):
        embedder.embed(_waves()[:1], layer="conv")
    with pytest.raises(InputError, match="valid layers"):
        embedder.dim(TINY_NUM_LAYERS + 1)


def test_whisper_pools_only_the_real_frames(tiny_paths: dict[str, Path]) -> None:
    embedder = load_encoder(tiny_paths["whisper"], device="cpu")
    n = TINY_WHISPER_WINDOW * 16000
    assert embedder.output_lengths([3000, n, 2 * n + 777]).tolist() == [10, 50, 100 + 3]
    (emb,) = embedder.embed(_waves((3000,)), layer=1, frames=True)
    assert emb.frames.shape == (10, 32)


def test_unsupported_family_names_the_supported_ones(tmp_path: Path) -> None:
    transformers.BertConfig(
        hidden_size=8, num_hidden_layers=1, num_attention_heads=1
    ).save_pretrained(tmp_path)
    with pytest.raises(
        InputError, match="type 'bert'; supported encoder families: wav2vec2, hubert"
    ):
        load_encoder(tmp_path, device="cpu")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_every_family_on_cuda_is_close_to_cpu(family, tiny_paths: dict[str, Path]) -> None:
    """On CUDA every family runs under bf16 autocast; its pooled layers stay close to CPU's
    float32 ones (bf16 keeps about 3 significant digits) and batching still changes nothing
    beyond that rounding."""
    name, embedder, _, _ = family
    gpu = load_encoder(tiny_paths[name], device="cuda")
    waves = _waves()
    layers = _layers(embedder)
    cpu = embedder.embed_layers(waves, layers=layers)
    got = gpu.embed_layers(waves, layers=layers)
    alone = [gpu.embed_layers([w], layers=layers)[0] for w in waves]
    for c, g, a in zip(cpu, got, alone, strict=True):
        for layer in layers:
            scale = float(np.abs(c[layer].pooled).max()) + 1e-6
            np.testing.assert_allclose(g[layer].pooled, c[layer].pooled, atol=0.05 * scale)
            np.testing.assert_allclose(g[layer].pooled, a[layer].pooled, atol=0.05 * scale)
