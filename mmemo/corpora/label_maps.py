"""Label maps: one class set over several corpora (``--labels NAME`` at training time).

Corpora name and number their classes each their own way (RAVDESS's code 1 is neutral,
CREMA-D's angry; IEMOCAP's ``exc`` is what most papers count as happy). A :class:`LabelMap`
names target classes in order and says which of each corpus's labels become which target: a
label is taken by its name (any case), by a common other spelling (:data:`ALIASES
<mmemo.corpora.classes.ALIASES>`: ``anger`` → ``angry``) or by the map's own extra sources
(``excited`` → ``happy``). A clip whose label the map does not take is left out of the run,
and counted.

A run trained through a map records the map as its dataset, ``labels:NAME`` (registry
``datasets``, with each class's source labels), so that reports, fusion and ``predict`` read
the map's classes as they read a corpus's, and the store's views give each clip its class in
the map (the session's ``label_codes`` table, :func:`mmemo.store.vocabulary.create_vocabulary`).

Built-in maps (:data:`LABEL_MAPS`)::

    common4   neutral, happy, sad, angry (happy takes IEMOCAP's excited)
    common6   neutral, happy, sad, angry, fearful, disgust: every class CREMA-D has, and
              the six RAVDESS shares with it

Any other value of ``--labels`` is a comma-separated list of target labels, each taking the
labels of its own name and spellings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mmemo.corpora.classes import ALIASES
from mmemo.errors import InputError
from mmemo.store.vocabulary import Vocabulary

#: The prefix of a label map's name as a dataset of the registry.
MAP_PREFIX = "labels:"
#: The longest dataset name the registry keeps (``datasets.name``, ``runs.dataset``).
MAX_NAME = 64


@dataclass(frozen=True)
class LabelMap:
    """Target classes in order, and the source labels each takes beyond its own spellings."""

    name: str
    labels: tuple[str, ...]
    extra: Mapping[str, str] = field(default_factory=dict)  # source label -> target label
    about: str = ""

    def __post_init__(self) -> None:
        if not self.labels or len(set(self.labels)) != len(self.labels):
            raise InputError(f"label map {self.name!r}: its classes must be distinct, and some")

    @property
    def dataset(self) -> str:
        """The map's name as the dataset of the runs trained through it."""
        return f"{MAP_PREFIX}{self.name}"

    @property
    def vocabulary(self) -> Vocabulary:
        codes = tuple(range(1, len(self.labels) + 1))
        return Vocabulary(codes, self.labels, dataset=self.dataset)

    def sources(self, target: str) -> list[str]:
        """Every source label (lower case) that becomes ``target``."""
        found = {target.lower()}
        found |= {a for a, x in ALIASES.items() if x == target.lower()}
        found |= {s.lower() for s, x in self.extra.items() if x == target}
        return sorted(found)

    def target(self, label: str) -> str | None:
        """The target class of a corpus's ``label``, or None (left out)."""
        key = label.strip().lower()
        for target in self.labels:
            if key in self.sources(target):
                return target
        return None

    def record(self) -> list[dict[str, Any]]:
        """The registry's form: the vocabulary's rows, each with the labels it takes."""
        return [{**row, "from": self.sources(row["label"])} for row in self.vocabulary.record()]


#: The built-in label maps, by name.
LABEL_MAPS: dict[str, LabelMap] = {
    m.name: m
    for m in (
        LabelMap(
            "common4",
            ("neutral", "happy", "sad", "angry"),
            {"excited": "happy", "exc": "happy", "hap": "happy", "neu": "neutral", "ang": "angry"},
            "neutral, happy (with IEMOCAP's excited), sad, angry: the usual four",
        ),
        LabelMap(
            "common6",
            ("neutral", "happy", "sad", "angry", "fearful", "disgust"),
            {"neu": "neutral", "hap": "happy", "ang": "angry", "fea": "fearful", "dis": "disgust"},
            "the six classes RAVDESS and CREMA-D share (all of CREMA-D's)",
        ),
    )
}


def label_map(value: str) -> LabelMap:
    """The map ``--labels`` names: a built-in map's name, or a comma-separated list of
    target labels.

    Raises:
        InputError: an unknown name (no comma), or a list with a label twice.
    """
    value = value.strip()
    if value.startswith(MAP_PREFIX):
        value = value[len(MAP_PREFIX) :]
    if value in LABEL_MAPS:
        return LABEL_MAPS[value]
    if "," not in value:
        raise InputError(
            f"--labels {value!r}: no such label map; expected {', '.join(LABEL_MAPS)} or a "
            "comma-separated list of classes (neutral,happy,sad)"
        )
    labels = tuple(x.strip().lower() for x in value.split(",") if x.strip())
    mapping = LabelMap(",".join(labels), labels, about="the classes given")
    if len(mapping.dataset) > MAX_NAME:
        raise InputError(
            f"--labels {value!r}: a list of classes is at most {MAX_NAME - len(MAP_PREFIX)} "
            "characters (the registry keeps it as the runs' dataset name)"
        )
    return mapping
