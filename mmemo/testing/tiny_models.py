"""Tiny wav2vec2 checkpoints for tests: the demo's builder (:mod:`mmemo.demo.tiny_wav2vec2`).

They load through the same ``from_pretrained`` path as the real checkpoint, with random but
seeded weights, so tests need no network and run in milliseconds.
"""

from __future__ import annotations

from mmemo.demo.tiny_wav2vec2 import (
    TINY_CONV_DIM,
    TINY_HIDDEN_SIZE,
    TINY_NUM_LAYERS,
    build_tiny_wav2vec2,
)

__all__ = ["TINY_CONV_DIM", "TINY_HIDDEN_SIZE", "TINY_NUM_LAYERS", "build_tiny_wav2vec2"]
