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

from mmemo.errors import MissingDependencyError

__all__ = ["TINY_CONV_DIM", "TINY_HIDDEN_SIZE", "TINY_NUM_LAYERS", "build_tiny_wav2vec2"]

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
        import torch
        from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model
    except ImportError as exc:
        raise MissingDependencyError("torch", "ml") from exc

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = Wav2Vec2Config(
        hidden_size=TINY_HIDDEN_SIZE,
        num_hidden_layers=TINY_NUM_LAYERS,
        num_attention_heads=2,
        intermediate_size=37,
        conv_dim=(TINY_CONV_DIM,) * 3,
        conv_kernel=(10, 3, 3),
        conv_stride=(5, 4, 4),
        conv_bias=stable_layer_norm,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        feat_extract_norm="layer" if stable_layer_norm else "group",
        do_stable_layer_norm=stable_layer_norm,
        vocab_size=12,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Wav2Vec2Model(config)
    model.eval()
    model.save_pretrained(out)
    Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=16000,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=stable_layer_norm,
    ).save_pretrained(out)
    return out
