"""Tiny encoder checkpoints for tests: the demo's wav2vec2 builder
(:mod:`mmemo.demo.tiny_wav2vec2`) and one tiny random config per other encoder family.

They load through the same ``from_pretrained`` path as the real checkpoints, with random but
seeded weights, so tests need no network and run in milliseconds.
"""

from __future__ import annotations

from pathlib import Path

from mmemo.demo.tiny_wav2vec2 import (
    TINY_CONV_DIM,
    TINY_HIDDEN_SIZE,
    TINY_NUM_LAYERS,
    build_tiny_wav2vec2,
    save_seeded,
    save_wave_feature_extractor,
    tiny_raw_shape,
)

__all__ = [
    "TINY_CONV_DIM",
    "TINY_FAMILIES",
    "TINY_HIDDEN_SIZE",
    "TINY_NUM_LAYERS",
    "TINY_WHISPER_WINDOW",
    "build_tiny_encoder",
    "build_tiny_wav2vec2",
]

#: Families :func:`build_tiny_encoder` makes (``model_type`` values).
TINY_FAMILIES = ("wav2vec2", "hubert", "wavlm", "data2vec-audio", "whisper")
#: Window of the tiny Whisper model, in seconds (30 in the real checkpoints).
TINY_WHISPER_WINDOW = 1


def build_tiny_encoder(out: Path, family: str, *, seed: int = 0) -> Path:
    """Create and save a tiny random checkpoint of ``family`` with its feature extractor.

    The raw-waveform families share the tiny wav2vec2 shape (conv width
    :data:`TINY_CONV_DIM`, :data:`TINY_NUM_LAYERS` layers of width :data:`TINY_HIDDEN_SIZE`,
    80 samples per frame) in their large-model flavour (layer-norm conv encoder, attention
    mask). Whisper gets 16 mel bins and a :data:`TINY_WHISPER_WINDOW`-second window (50
    encoder frames) so that clips longer than one window are cheap to test.

    Returns:
        ``out``, ready for ``from_pretrained``.
    """
    import transformers as tf

    if family == "wav2vec2":
        return build_tiny_wav2vec2(out, seed=seed)
    raw = tiny_raw_shape()
    if family == "hubert":
        config, cls = tf.HubertConfig(do_stable_layer_norm=True, **raw), tf.HubertModel
    elif family == "wavlm":
        config = tf.WavLMConfig(
            do_stable_layer_norm=True, num_buckets=32, max_bucket_distance=64, **raw
        )
        cls = tf.WavLMModel
    elif family == "data2vec-audio":
        raw.pop("num_conv_pos_embeddings")
        config = tf.Data2VecAudioConfig(num_conv_pos_embeddings=3, conv_pos_kernel_size=3, **raw)
        cls = tf.Data2VecAudioModel
    elif family == "whisper":
        config = tf.WhisperConfig(
            num_mel_bins=16,
            d_model=TINY_HIDDEN_SIZE,
            encoder_layers=TINY_NUM_LAYERS,
            decoder_layers=1,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=37,
            decoder_ffn_dim=37,
            max_source_positions=50 * TINY_WHISPER_WINDOW,
            max_target_positions=8,
            vocab_size=64,
            pad_token_id=1,
            bos_token_id=2,
            eos_token_id=3,
            decoder_start_token_id=2,
        )
        cls = tf.WhisperModel
    else:
        raise ValueError(f"unknown family {family!r}; expected one of {', '.join(TINY_FAMILIES)}")
    out = save_seeded(cls, config, out, seed=seed)
    if family == "whisper":
        tf.WhisperFeatureExtractor(
            feature_size=16, chunk_length=TINY_WHISPER_WINDOW
        ).save_pretrained(out)
    else:
        save_wave_feature_extractor(out, attention_mask=True)
    return out
