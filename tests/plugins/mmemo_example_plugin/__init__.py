"""An example mmemo plug-in package: a model kind that an installed package adds through the
entry-point group ``mmemo.model_kinds`` (see ``pyproject.toml`` beside this folder).

The test set-up puts this folder on ``sys.path`` with its ``.dist-info``, which is what
installing it does; users never install it. A kind that is a
:class:`~mmemo.models.static_models.StaticModel` (one scikit-learn estimator and how to read
its scores) trains with ``mmemo train static --model example-gnb`` and shows up wherever a
built-in kind does: ``predict``, ``fuse``, ``report``, Slurm arrays, ``mmemo models``.
"""

from __future__ import annotations

from mmemo.models.static_models import StaticModel


class GaussianNBKind(StaticModel):
    """Gaussian naive Bayes; scores are its class probabilities."""

    name = "example-gnb"
    estimator = "sklearn.naive_bayes:GaussianNB"
    description = "Gaussian naive Bayes (the example plug-in)"
