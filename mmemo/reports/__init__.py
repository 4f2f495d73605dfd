"""Reports: metrics, paired statistics, report rows, rendered tables (text, markdown,
LaTeX, csv, json) and figures, all computed from the store's posteriors.

Layer 7, with the renderer (``mmemo.display``, ``mmemo.outputs``): imports every layer below
and the base modules.
"""
