"""wav2vec2 embeddings: the names this module always had, now served by the encoder families.

:class:`Wav2Vec2Embedder` is :class:`mmemo.features.encoders.raw.RawWaveEncoder`, which loads
wav2vec2 / XLSR, HuBERT, WavLM and data2vec-audio checkpoints; the Whisper encoder and the
family registry live in :mod:`mmemo.features.encoders` (``load_encoder`` picks the family from
the checkpoint's config). See :mod:`mmemo.features.encoders.raw` for the layers, pooling and
the exactness of batching.

Example:
    >>> model_id = "jonatasgrosman/wav2vec2-large-xlsr-53-english"
    >>> embedder = Wav2Vec2Embedder(model_id)  # doctest: +SKIP
    >>> from mmemo.features.batching import extract
    >>> for clip_id, emb in extract(embedder, iter_decoded(items)):  # doctest: +SKIP
    ...     emb.pooled.shape  # (512,)
"""

from __future__ import annotations

from mmemo.features.encoders.base import DEFAULT_MAX_SECONDS, Embedding, Layer, Pool
from mmemo.features.encoders.raw import RawWaveEncoder

__all__ = [
    "DEFAULT_MAX_SECONDS",
    "Embedding",
    "Layer",
    "Pool",
    "Wav2Vec2Embedder",
]

#: The raw-waveform embedder (wav2vec2 / XLSR, HuBERT, WavLM, data2vec-audio).
Wav2Vec2Embedder = RawWaveEncoder
