"""Features: audio embeddings (wav2vec2 family), OpenFace Action Unit ingest, imported
feature tables, and feature-set versioning and shards (:mod:`.sets`).

Layer 5: imports ``mmemo.models``, ``mmemo.fusion``, ``mmemo.corpora``, ``mmemo.store`` and the
base modules.
"""
