"""Corpora: the corpus adapters and their registry (RAVDESS, CREMA-D, IEMOCAP, EmoBox's
manifests, audformat databases, any manifest; plug-ins through ``mmemo.corpora``), sources,
ingest, fold schemes within and across corpora, label maps, media decoding, and the
synthetic corpora (:mod:`.synth`).

Layer 2: imports ``mmemo.store`` and the base modules.
"""
