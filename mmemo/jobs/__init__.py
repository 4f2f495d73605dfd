"""Jobs: training, fusion, import and prediction jobs that read inputs from the store, run
cross-validation over a fold scheme and write posteriors back through the lifecycle.

Layer 6: imports every layer below (``features``, ``models``, ``fusion``, ``corpora``,
``store``) and the base modules.
"""
