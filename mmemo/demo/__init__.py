"""``mmemo demo``: the whole loop on a synthetic corpus, from nothing to a paper-style report.

The demo drives every library layer (a synthetic corpus from :mod:`mmemo.corpora.synth`, the
store, jobs, reports), so it sits above them all and below ``cli/``: it may import any of
``mmemo``'s library packages, never ``mmemo.cli`` or ``mmemo.testing``. :mod:`~.loop` runs the
loop; :mod:`~.tiny_wav2vec2` builds the tiny wav2vec2 checkpoint its fine-tune uses (the tests
use the same one).

Layer 8: imports every library layer and the base modules.
"""

from __future__ import annotations

from mmemo.demo.loop import DemoResult, run_demo

__all__ = ["DemoResult", "run_demo"]
