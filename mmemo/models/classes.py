"""The classes of a network's output columns, from the labels it is trained on.

The deep kinds (bi-LSTM, wav2vec2 fine-tune) have a fixed number of outputs, ``n_classes``
in their configs; which class code each output stands for comes from the training labels
(:meth:`~mmemo.store.vocabulary.Vocabulary.of_codes`: ascending codes, as scikit-learn's
``classes_``), never from the assumption that codes run ``1..n_classes``.
"""

from __future__ import annotations

from typing import Any

from mmemo.errors import InputError
from mmemo.store.vocabulary import Vocabulary


def output_classes(y_train: Any, n_classes: int) -> Vocabulary:
    """The classes of the ``n_classes`` output columns: those of ``y_train``, ascending.

    A class the network never trains on would get a column it cannot learn, and one beyond
    ``n_classes`` none at all, so the two must agree (the training jobs set ``n_classes`` to
    the number of classes of the selected clips where it is not given).

    Raises:
        InputError: ``y_train`` holds another number of classes, or labels that are not
            integer codes.
    """
    classes = Vocabulary.of_codes(y_train)
    if len(classes) != n_classes:
        raise InputError(
            f"n_classes={n_classes}, but the training labels hold {len(classes)} classes "
            f"({', '.join(classes.labels)}): set n_classes={len(classes)}"
        )
    return classes
