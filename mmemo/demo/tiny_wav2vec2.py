"""A tiny wav2vec2 checkpoint, built from a config and saved with ``save_pretrained``.

It loads through the same ``from_pretrained`` path as the real checkpoint
(``jonatasgrosman/wav2vec2-large-xlsr-53-english``), with random but seeded weights, so the
demo's fine-tune and the tests need no network and run in milliseconds.

Example:
    >>> path = build_tiny_wav2vec2(tmp_path / "w2v2")  # doctest: +SKIP
    >>> Wav2Vec2Embedder(path)  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mmemo.errors import MissingDependencyError
from mmemo.models.torch_utils import require_torch

__all__ = [
    "TINY_CONV_DIM",
    "TINY_HIDDEN_SIZE",
    "TINY_NUM_LAYERS",
    "build_tiny_wav2vec2",
    "save_seeded",
    "save_wave_feature_extractor",
    "tiny_raw_shape",
]

#: Width of the tiny conv feature encoder output (512 in the real models).
TINY_CONV_DIM = 32
#: Transformer width of the tiny models (1024 in wav2vec2-large).
TINY_HIDDEN_SIZE = 32
#: Number of transformer layers of the tiny models (24 in wav2vec2-large).
TINY_NUM_LAYERS = 3


def build_tiny_wav2vec2(out: Path, *, stable_layer_norm: bool = True, seed: int = 0) -> Path:
    """Create and save a tiny random wav2vec2 model and its feature extractor.

    Two flavours mirror the two families of real checkpoints:

    * ``stable_layer_norm=True`` — like wav2vec2-large / XLSR: layer-norm conv encoder,
      pre-norm transformer, the feature extractor returns an attention mask.
    * ``stable_layer_norm=False`` — like wav2vec2-base: group-norm first conv layer, post-norm
      transformer, no attention mask (inputs are zero-padded).

    The conv encoder downsamples by 80 (kernels 10, 3, 3; strides 5, 4, 4), so 1 s of 16 kHz
    audio gives 199 frames.

    Args:
        out: Directory to write ``config.json``, the weights and ``preprocessor_config.json``
            into (created if missing).
        stable_layer_norm: Which flavour to build (see above).
        seed: Seed of the random weights; the global torch RNG state is left untouched.

    Returns:
        ``out``, ready for ``from_pretrained``.

    Raises:
        MissingDependencyError: torch or transformers is not installed.
    """
    try:
        from transformers import Wav2Vec2Config, Wav2Vec2Model
    except ImportError as exc:
        raise MissingDependencyError("torch", "ml") from exc

    shape = tiny_raw_shape(stable_layer_norm=stable_layer_norm)
    config = Wav2Vec2Config(do_stable_layer_norm=stable_layer_norm, **shape)
    out = save_seeded(Wav2Vec2Model, config, out, seed=seed)
    save_wave_feature_extractor(out, attention_mask=stable_layer_norm)
    return out


def tiny_raw_shape(*, stable_layer_norm: bool = True) -> dict[str, Any]:
    """The config fields of the tiny raw-waveform shape, common to the wav2vec2, HuBERT, WavLM
    and data2vec-audio configs (:mod:`mmemo.testing.tiny_models` builds those): conv width
    :data:`TINY_CONV_DIM`, :data:`TINY_NUM_LAYERS` layers of width :data:`TINY_HIDDEN_SIZE`,
    80 samples per frame; a layer-norm conv encoder with biases, or (``stable_layer_norm``
    False) wav2vec2-base's group norm without."""
    return {
        "hidden_size": TINY_HIDDEN_SIZE,
        "num_hidden_layers": TINY_NUM_LAYERS,
        "num_attention_heads": 2,
        "intermediate_size": 37,
        "conv_dim": (TINY_CONV_DIM,) * 3,
        "conv_kernel": (10, 3, 3),
        "conv_stride": (5, 4, 4),
        "conv_bias": stable_layer_norm,
        "num_conv_pos_embeddings": 16,
        "num_conv_pos_embedding_groups": 2,
        "feat_extract_norm": "layer" if stable_layer_norm else "group",
        "vocab_size": 12,
    }


def save_seeded(model_class: Any, config: Any, out: Path, *, seed: int) -> Path:
    """Build ``model_class(config)`` with weights drawn from ``seed`` (the global torch RNG
    state left untouched) and save it in eval mode to ``out`` (created if missing)."""
    torch = require_torch()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_class(config)
    model.eval()
    model.save_pretrained(out)
    return out


def save_wave_feature_extractor(out: Path, *, attention_mask: bool) -> None:
    """Save the feature extractor of a raw-waveform checkpoint (16 kHz, normalised), with or
    without an attention mask as the real large and base checkpoints declare."""
    from transformers import Wav2Vec2FeatureExtractor

    Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=16000,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=attention_mask,
    ).save_pretrained(out)
