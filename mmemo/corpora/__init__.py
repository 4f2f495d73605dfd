"""Corpora: RAVDESS file names and labels, fold schemes, media decoding, ingest, and the
synthetic corpus (:mod:`.synth`).

Layer 2: imports ``mmemo.store`` and the base modules.
"""
