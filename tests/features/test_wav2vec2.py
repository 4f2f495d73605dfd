"""Tests of mmemo.features.wav2vec2 against full forward passes of tiny checkpoints.

The reference for every vector is the plain transformers recipe, one clip at a time:
normalise with the checkpoint's feature extractor, ``model(input_values,
output_hidden_states=True)``, average ``extract_features`` or ``hidden_states[N]`` over time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mmemo.errors import InputError

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from mmemo.features.batching import extract, plan_batches  # noqa: E402
from mmemo.features.wav2vec2 import Embedding, Wav2Vec2Embedder  # noqa: E402
from mmemo.testing.tiny_models import (  # noqa: E402
    TINY_CONV_DIM,
    TINY_HIDDEN_SIZE,
    TINY_NUM_LAYERS,
    build_tiny_wav2vec2,
)

ATOL = 1e-5
KINDS = {"large-style": True, "base-style": False}  # stable_layer_norm


def _waves(lengths: tuple[int, ...] = (3000, 8000, 12345, 8000, 5123), seed: int = 0):
    """Noise plus tones of different lengths (two of equal length) at 16 kHz."""
    rng = np.random.default_rng(seed)
    waves = []
    for i, n in enumerate(lengths):
        t = np.arange(n) / 16000
        tone = 0.3 * np.sin(2 * np.pi * (150 + 90 * i) * t)
        waves.append((tone + 0.05 * rng.standard_normal(n) + 0.01 * i).astype(np.float32))
    return waves


#: Tiny models gain nothing from intra-op threads, and lose a lot on a busy machine.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module", params=list(KINDS), ids=list(KINDS))
def tiny(request: pytest.FixtureRequest, tiny_w2v2: dict[bool, Path]):
    """(path, embedder, reference model, feature extractor) of one tiny checkpoint."""
    path = tiny_w2v2[KINDS[request.param]]
    embedder = Wav2Vec2Embedder(path, device="cpu")
    model = transformers.Wav2Vec2Model.from_pretrained(path).eval()
    feature_extractor = transformers.AutoFeatureExtractor.from_pretrained(path)
    return path, embedder, model, feature_extractor


def _reference(model, feature_extractor, wave: np.ndarray, layer: str | int) -> np.ndarray:
    """T × D reference vectors of one clip from a full forward pass."""
    values = feature_extractor(wave, sampling_rate=16000, return_tensors="pt").input_values
    with torch.inference_mode():
        out = model(values, output_hidden_states=True)
    states = out.extract_features if layer == "conv" else out.hidden_states[layer]
    return states[0].numpy()


@pytest.mark.parametrize("layer", ["conv", 1, 2, TINY_NUM_LAYERS])
def test_pooled_equals_full_forward_reference(tiny, layer: str | int) -> None:
    _, embedder, model, feature_extractor = tiny
    waves = _waves()
    embeddings = embedder.embed(waves, layer=layer, frames=True)
    for wave, emb in zip(waves, embeddings, strict=True):
        reference = _reference(model, feature_extractor, wave, layer)
        assert emb.pooled.dtype == np.float32
        np.testing.assert_allclose(emb.pooled, reference.mean(axis=0), atol=ATOL)
        np.testing.assert_allclose(emb.frames, reference, atol=ATOL)


@pytest.mark.parametrize("layer", ["conv", "conv_raw", 2])
@pytest.mark.parametrize("pool", ["mean", "mean+std"])
def test_batched_equals_unbatched(tiny, layer: str | int, pool: str) -> None:
    _, embedder, _, _ = tiny
    waves = _waves()
    batched = embedder.embed(waves, layer=layer, pool=pool, frames=True)
    for wave, emb in zip(waves, batched, strict=True):
        (alone,) = embedder.embed([wave], layer=layer, pool=pool, frames=True)
        np.testing.assert_allclose(emb.pooled, alone.pooled, atol=ATOL)
        np.testing.assert_allclose(emb.frames, alone.frames, atol=ATOL)


def test_conv_raw_is_the_encoder_output(tiny) -> None:
    _, embedder, model, feature_extractor = tiny
    wave = _waves()[2]
    values = feature_extractor(wave, sampling_rate=16000, return_tensors="pt").input_values
    with torch.inference_mode():
        raw = model.feature_extractor(values)[0].T.numpy()
    (emb,) = embedder.embed([wave], layer="conv_raw")
    np.testing.assert_allclose(emb.pooled, raw.mean(axis=0), atol=ATOL)


def test_frames_follow_the_output_length_formula(tiny) -> None:
    _, embedder, model, _ = tiny
    waves = _waves()
    for layer, width in (("conv", TINY_CONV_DIM), (1, TINY_HIDDEN_SIZE)):
        embeddings = embedder.embed(waves, layer=layer, frames=True)
        for wave, emb in zip(waves, embeddings, strict=True):
            n = int(model._get_feat_extract_output_lengths(torch.tensor(len(wave))))
            assert emb.frames is not None
            assert emb.frames.shape == (n, width)
            assert emb.frames.dtype == np.float32
    assert all(e.frames is None for e in embedder.embed(waves))
    assert embedder.output_lengths([len(w) for w in waves]).tolist() == [
        int(model._get_feat_extract_output_lengths(torch.tensor(len(w)))) for w in waves
    ]


def test_mean_std_doubles_the_dimension(tiny) -> None:
    _, embedder, _, _ = tiny
    waves = _waves()[:2]
    for layer, width in (("conv", TINY_CONV_DIM), (TINY_NUM_LAYERS, TINY_HIDDEN_SIZE)):
        assert embedder.dim(layer) == width
        assert embedder.dim(layer, "mean+std") == 2 * width
        for emb in embedder.embed(waves, layer=layer, pool="mean+std", frames=True):
            assert emb.pooled.shape == (2 * width,)
            np.testing.assert_allclose(emb.pooled[:width], emb.frames.mean(axis=0), atol=ATOL)
            np.testing.assert_allclose(emb.pooled[width:], emb.frames.std(axis=0), atol=ATOL)


def test_padding_does_not_leak_into_the_mean(tiny) -> None:
    """A short clip batched with a much longer one keeps its own vector."""
    _, embedder, _, _ = tiny
    short, long = _waves((2000, 40000))
    (alone,) = embedder.embed([short], layer=1)
    together = embedder.embed([short, long], layer=1)
    np.testing.assert_allclose(together[0].pooled, alone.pooled, atol=ATOL)


def test_group_norm_models_would_depend_on_padding(tiny_w2v2: dict[bool, Path]) -> None:
    """Why base-style models run on equal-length batches only: zero-padding changes them."""
    path = tiny_w2v2[False]
    model = transformers.Wav2Vec2Model.from_pretrained(path).eval()
    wave = _waves((4000,))[0]
    wave = (wave - wave.mean()) / wave.std()
    padded = np.concatenate([wave, np.zeros(4000, np.float32)])
    with torch.inference_mode():
        alone = model.feature_extractor(torch.from_numpy(wave)[None])[0]
        in_batch = model.feature_extractor(torch.from_numpy(padded)[None])[0, :, : alone.shape[1]]
    assert not torch.allclose(alone, in_batch, atol=1e-3)


def test_info_describes_the_checkpoint(tiny) -> None:
    path, embedder, model, _ = tiny
    info = embedder.info
    assert info["model"] == str(path)
    assert info["revision_source"] == "sha256"
    assert info["revision"].startswith("sha256:") and len(info["revision"]) == 7 + 64
    assert info["conv_dim"] == TINY_CONV_DIM
    assert info["hidden_size"] == TINY_HIDDEN_SIZE
    assert info["num_layers"] == TINY_NUM_LAYERS
    assert info["return_attention_mask"] is model.config.do_stable_layer_norm
    assert info["device"] == "cpu"
    assert info["dtype"] == "float32"
    assert info["torch"] == torch.__version__
    assert info["transformers"] == transformers.__version__
    # Same weights, same revision; other weights, another one.
    assert Wav2Vec2Embedder(path, device="cpu").info["revision"] == info["revision"]


@pytest.mark.slow
def test_hub_id_resolves_to_its_commit(tmp_path: Path) -> None:
    """A hub id loads through the hub cache (offline here) and reports the cached commit."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--mmemo-test--tiny-w2v2"
    build_tiny_wav2vec2(repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    code = (
        "from mmemo.features.wav2vec2 import Wav2Vec2Embedder;"
        "info = Wav2Vec2Embedder('mmemo-test/tiny-w2v2', device='cpu').info;"
        "print(info['revision'], info['revision_source'])"
    )
    env = {
        **os.environ,
        "HF_HUB_CACHE": str(tmp_path / "hub"),
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [commit, "hub"]


def test_tiny_models_are_seeded_and_fast(tmp_path: Path) -> None:
    state = torch.random.get_rng_state()
    start = time.perf_counter()
    a = build_tiny_wav2vec2(tmp_path / "a", seed=1)
    elapsed = time.perf_counter() - start
    b = build_tiny_wav2vec2(tmp_path / "b", seed=1)
    c = build_tiny_wav2vec2(tmp_path / "c", seed=2)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert elapsed < 1.0
    revisions = [Wav2Vec2Embedder(p, device="cpu").info["revision"] for p in (a, b, c)]
    assert revisions[0] == revisions[1] != revisions[2]


def test_bad_arguments_and_waves(tiny) -> None:
    _, embedder, _, _ = tiny
    wave = _waves()[0]
    for layer in (0, TINY_NUM_LAYERS + 1, "last", True):
        with pytest.raises(InputError, match="unknown layer"):
            embedder.embed([wave], layer=layer)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown pooling"):
        embedder.embed([wave], pool="max")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="clip-7.*too short"):
        embedder.embed([wave, wave[:20]], keys=["clip-6", "clip-7"])
    with pytest.raises(InputError, match="1-D"):
        embedder.embed([np.stack([wave, wave])])
    with pytest.raises(InputError, match="NaN"):
        embedder.embed([np.full(4000, np.nan, np.float32)])
    assert embedder.embed([]) == []


def test_bad_model_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot load"):
        Wav2Vec2Embedder(tmp_path / "missing", device="cpu")
    with pytest.raises(InputError, match="device"):
        Wav2Vec2Embedder(tmp_path / "missing", device="tpu")


@pytest.mark.parametrize(
    ("lengths", "max_seconds"),
    [
        ([16000, 48000, 32000, 8000, 16000, 60000, 1000], 4.0),
        ([16000] * 10, 3.0),
        ([100_000, 10, 20], 1.0),
        (list(np.random.default_rng(3).integers(1, 80_000, 200)), 10.0),
        ([], 1.0),
    ],
)
def test_plan_batches(lengths: list[int], max_seconds: float) -> None:
    batches = plan_batches(lengths, max_seconds=max_seconds)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    limit = max_seconds * 16000
    flat = [i for batch in batches for i in batch]
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)
    for batch in batches:
        padded = len(batch) * max(lengths[i] for i in batch)
        assert padded <= limit or len(batch) == 1
    assert plan_batches(lengths, max_seconds=max_seconds) == batches


def test_plan_batches_example() -> None:
    assert plan_batches([1, 5, 3, 5, 2], max_seconds=10, sample_rate=1) == [[1, 3], [2, 4, 0]]
    assert plan_batches([30, 5], max_seconds=10, sample_rate=1) == [[0], [1]]
    with pytest.raises(InputError):
        plan_batches([1], max_seconds=0)


@pytest.mark.parametrize("window", [2, 100])
def test_extract_yields_every_clip_in_order(tiny, window: int) -> None:
    _, embedder, _, _ = tiny
    waves = _waves()
    items = [(f"clip-{i}", wave) for i, wave in enumerate(waves)]
    calls: list[tuple[int, float]] = []
    out = list(
        extract(
            embedder,
            iter(items),
            layer=2,
            pool="mean+std",
            frames=True,
            max_seconds=1.0,
            window=window,
            on_batch=lambda n, s: calls.append((n, s)),
        )
    )
    assert [key for key, _ in out] == [key for key, _ in items]
    expected = embedder.embed(waves, layer=2, pool="mean+std", frames=True)
    for (_, got), want in zip(out, expected, strict=True):
        assert isinstance(got, Embedding)
        np.testing.assert_allclose(got.pooled, want.pooled, atol=ATOL)
    assert sum(n for n, _ in calls) == len(waves)
    assert sum(s for _, s in calls) == pytest.approx(sum(len(w) for w in waves) / 16000)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bf16_is_close_to_cpu(tiny) -> None:
    path, embedder, _, _ = tiny
    gpu = Wav2Vec2Embedder(path, device="cuda")
    assert gpu.info["dtype"] == "bfloat16-autocast"
    waves = _waves()
    for layer in ("conv", TINY_NUM_LAYERS):
        for a, b in zip(
            gpu.embed(waves, layer=layer), embedder.embed(waves, layer=layer), strict=True
        ):
            np.testing.assert_allclose(a.pooled, b.pooled, atol=0.1, rtol=0.05)
