"""Models: the registry of model kinds (:mod:`.registry`), the static sklearn models, the
bi-LSTM with attention and the wav2vec2 fine-tune, each able to fit, score and save or load
its fold artefacts. Models know arrays and tensors, not the store's tables.

Layer 3: imports ``mmemo.store``, ``mmemo.corpora`` and the base modules (the registry names
the fusion kinds of ``mmemo.fusion`` by text and imports them on first use).
"""
