"""Late fusion of per-fold posteriors: the fusion kinds (:mod:`.kinds`) and the arithmetic
over aligned posterior matrices (:mod:`.late`).

Layer 4, right above ``mmemo.models`` (the fusions are model kinds): imports ``mmemo.models``,
``mmemo.corpora``, ``mmemo.store`` and the base modules.
"""
