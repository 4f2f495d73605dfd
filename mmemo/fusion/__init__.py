"""Late fusion of per-fold posteriors: the fusion kinds (:mod:`.kinds`) and the arithmetic
over aligned posterior matrices (:mod:`.late`).

Layer 3 (beside ``mmemo.models``): imports ``mmemo.store``, ``mmemo.corpora`` and the base
modules.
"""
