"""Fixtures of the feature-store tests (``test_store_*.py``).

The corpus (``synth_corpus``), its store, the tiny wav2vec2 checkpoints (``tiny_w2v2``) and the
state helper (``store_state``) are the root conftest's; ``feat_store`` is the name these tests
give the ingested store.
"""

from __future__ import annotations

import pytest


@pytest.fixture()
def feat_store(ingested_store):
    """The store holding the synthetic corpus (media ingested, no features), fresh per test:
    the root conftest's ``ingested_store``."""
    return ingested_store
