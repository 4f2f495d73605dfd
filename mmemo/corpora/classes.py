"""The classes a user names (``--classes``), read against a dataset's vocabulary.

A class may be named by its label (any case), by a common other spelling of that label
(:data:`ALIASES`: ``fear`` for ``fearful``) or by its code (``5``, ``"05"``); which labels and
codes exist is the dataset's record (:class:`~mmemo.store.vocabulary.Vocabulary`), never a
constant of one corpus.

>>> from mmemo.store.vocabulary import Vocabulary
>>> v = Vocabulary((1, 4, 6), ("neutral", "sad", "fearful"))
>>> class_codes("Fear, 01,sadness", v)
[6, 1, 4]
"""

from __future__ import annotations

from collections.abc import Iterable

from mmemo.errors import InputError
from mmemo.store.vocabulary import Vocabulary

#: Other spellings of emotion labels (any case), by the label each stands for: accepted for a
#: dataset whose vocabulary has that label.
ALIASES: dict[str, str] = {
    "fear": "fearful",
    "disgusted": "disgust",
    "surprise": "surprised",
    "anger": "angry",
    "happiness": "happy",
    "sadness": "sad",
}


def class_code(
    value: str | int, vocabulary: Vocabulary, *, option: str = "class", dataset: str = "the"
) -> int:
    """The code of the class ``value`` names in ``vocabulary``: a label, an alias or a code.

    Raises:
        InputError: ``value`` names no class of the vocabulary; the message names ``option``
            and lists the labels, the aliases that apply and the codes.
    """
    key = str(value).strip().lower()
    labels = [label.lower() for label in vocabulary.labels]
    if key.isdigit() and int(key) in vocabulary.codes:
        return int(key)
    label = ALIASES.get(key, key)
    if label in labels:
        return vocabulary.codes[labels.index(label)]
    aliases = [a for a, target in ALIASES.items() if target in labels]
    width = len(str(max(vocabulary.codes, default=0)))
    codes = [f"{c:0{max(width, 2)}d}" for c in vocabulary.codes]
    raise InputError(
        f"{option}: unknown label {str(value).strip()!r}; expected {dataset} labels "
        f"({', '.join(vocabulary.labels)}), "
        + (f"aliases ({', '.join(aliases)}) " if aliases else "")
        + (
            f"or codes {codes[0]}-{codes[-1]}"
            if _consecutive(vocabulary)
            else f"or codes {', '.join(codes)}"
        )
    )


def class_codes(
    spec: str | Iterable[str | int],
    vocabulary: Vocabulary,
    *,
    option: str = "--classes",
    dataset: str = "the",
) -> list[int]:
    """Class codes of a list of classes (comma-separated text or values), in the given order,
    each read by :func:`class_code`.

    Raises:
        InputError: an unknown class, or a class named twice.
    """
    values = spec.split(",") if isinstance(spec, str) else list(spec)
    codes = [
        class_code(v, vocabulary, option=option, dataset=dataset) for v in values if str(v).strip()
    ]
    if len(set(codes)) != len(codes):
        shown = spec if isinstance(spec, str) else ",".join(map(str, values))
        raise InputError(f"{option} {shown!r} names a class twice")
    return codes


def _consecutive(vocabulary: Vocabulary) -> bool:
    codes = sorted(vocabulary.codes)
    return bool(codes) and codes == list(range(codes[0], codes[0] + len(codes)))
