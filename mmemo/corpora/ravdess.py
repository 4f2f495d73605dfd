"""RAVDESS file names: the seven fields, their validation and the derived labels.

A RAVDESS file stem is ``MM-VV-EE-II-SS-RR-AA``: modality, vocal channel, emotion,
intensity, statement, repetition and actor, each a two-digit code (Livingstone & Russo, 2018).

RAVDESS's classes are RAVDESS's data, defined here: :data:`EMOTIONS` (the labels in the
corpus's order, code ``i + 1`` at index ``i``), :data:`EMOTION_CODES` and the two as the
:data:`VOCABULARY` that ``mmemo ingest ravdess`` records for the dataset; the store's views,
fusion, metrics and reports read that record (:mod:`mmemo.store.vocabulary`), not these
constants. :func:`emotion_code` / :func:`emotion_codes` are the one parser of the class labels
or codes a user gives.

>>> emotion_codes("Neutral, fear, 08")
[1, 6, 8]
>>> emotion_label(5)
'angry'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from mmemo.corpora.adapters import (
    Clip,
    CorpusAdapter,
    CorpusTables,
    InvalidNameError,
    register_corpus,
)
from mmemo.corpora.classes import class_code, class_codes
from mmemo.corpora.sources import SourceFile
from mmemo.store.vocabulary import Vocabulary

__all__ = ["InvalidNameError", "RavdessAdapter", "parse_name"]

#: RAVDESS's class labels in the corpus's order: index ``i`` is emotion code ``i + 1``
#: (Livingstone & Russo, 2018).
EMOTIONS: tuple[str, ...] = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
)
#: Emotion codes in the corpus's order (1 = neutral ... 8 = surprised).
EMOTION_CODES: tuple[int, ...] = tuple(range(1, len(EMOTIONS) + 1))
#: The vocabulary the RAVDESS ingest records for the dataset (registry ``datasets``).
VOCABULARY = Vocabulary(EMOTION_CODES, EMOTIONS)

MODALITIES = {1: "full-AV", 2: "video-only", 3: "audio-only"}
VOCAL_CHANNELS = {1: "speech", 2: "song"}
INTENSITIES = {1: "normal", 2: "strong"}
STATEMENTS = {1: "Kids are talking by the door", 2: "Dogs are sitting by the door"}
#: Emotions recorded in song (codes); speech has all eight.
SONG_EMOTIONS = frozenset({1, 2, 3, 4, 5, 6})
ACTORS = range(1, 25)

_SHAPE = re.compile(r"^\d{2}(-\d{2}){6}$")


@dataclass(frozen=True)
class ClipName:
    """The parsed fields of one RAVDESS file stem."""

    clip_id: str
    modality: int
    vocal_channel: int
    emotion: int
    intensity: int
    statement: int
    repetition: int
    actor: int

    @property
    def label(self) -> str:
        return EMOTIONS[self.emotion - 1]

    @property
    def gender(self) -> str:
        return "male" if self.actor % 2 == 1 else "female"

    def as_clip(self) -> Clip:
        """The clip of this name: its id is the stem, its speaker the actor's two digits."""
        return Clip(
            clip_id=self.clip_id,
            modality=self.modality,
            emotion=self.emotion,
            label=self.label,
            actor=self.actor,
            speaker=f"{self.actor:02d}",
            gender=self.gender,
            vocal_channel=self.vocal_channel,
            intensity=self.intensity,
            statement=self.statement,
            repetition=self.repetition,
        )


def looks_like_ravdess(stem: str) -> bool:
    """True when ``stem`` has the shape of a RAVDESS name (seven dash-separated pairs of digits)."""
    return bool(_SHAPE.match(stem))


def parse_name(stem: str) -> ClipName:
    """Parse and validate a RAVDESS file stem.

    Raises:
        InvalidNameError: the stem is not RAVDESS-shaped or a field is out of range; the
            message names the field and the value.
    """
    if not looks_like_ravdess(stem):
        raise InvalidNameError(f"'{stem}' is not a RAVDESS name (expected MM-VV-EE-II-SS-RR-AA)")
    mm, vv, ee, ii, ss, rr, aa = (int(part) for part in stem.split("-"))
    checks = (
        ("modality", mm, MODALITIES),
        ("vocal channel", vv, VOCAL_CHANNELS),
        ("emotion", ee, EMOTION_CODES),
        ("intensity", ii, INTENSITIES),
        ("statement", ss, STATEMENTS),
        ("repetition", rr, (1, 2)),
        ("actor", aa, ACTORS),
    )
    for field, value, valid in checks:
        if value not in valid:
            raise InvalidNameError(f"'{stem}': {field} {value:02d} is out of range")
    if ee == 1 and ii == 2:
        raise InvalidNameError(f"'{stem}': neutral has no strong intensity")
    if vv == 2 and ee not in SONG_EMOTIONS:
        raise InvalidNameError(f"'{stem}': emotion {ee:02d} ({EMOTIONS[ee - 1]}) is not sung")
    return ClipName(stem, mm, vv, ee, ii, ss, rr, aa)


def corpus_names() -> list[str]:
    """Every stem of the full RAVDESS corpus (7,356 files; actor 18 recorded no song)."""
    names = []
    for actor in ACTORS:
        for modality in MODALITIES:
            for channel in VOCAL_CHANNELS:
                if channel == 2 and actor == 18:
                    continue
                emotions = sorted(SONG_EMOTIONS) if channel == 2 else EMOTION_CODES
                for emotion in emotions:
                    for intensity in (1,) if emotion == 1 else (1, 2):
                        for statement in (1, 2):
                            for repetition in (1, 2):
                                names.append(
                                    f"{modality:02d}-{channel:02d}-{emotion:02d}-{intensity:02d}-"
                                    f"{statement:02d}-{repetition:02d}-{actor:02d}"
                                )
    return names


def emotion_label(code: int) -> str:
    """The label of emotion code ``code`` (1-8)."""
    return EMOTIONS[code - 1]


def emotion_code(value: str | int, *, option: str = "class") -> int:
    """The emotion code of a class a user gave: a label (any case), a common alias
    (``fear``, ``surprise`` ...) or a code (``5``, ``"05"``), by
    :func:`mmemo.corpora.classes.class_code` over RAVDESS's :data:`VOCABULARY`.

    Raises:
        InputError: the value names no RAVDESS class; the message names ``option`` and
            lists the valid labels.
    """
    return class_code(value, VOCABULARY, option=option, dataset="RAVDESS")


def emotion_codes(spec: str | Iterable[str | int], *, option: str = "--classes") -> list[int]:
    """Emotion codes of a list of classes (comma-separated text or values), in the given
    order, each parsed by :func:`emotion_code`.

    Raises:
        InputError: an unknown class, or a class named twice.
    """
    return class_codes(spec, VOCABULARY, option=option, dataset="RAVDESS")


#: OpenFace's outputs for a video, named after it: the AU table (``NAME.csv``), HOG features,
#: the run's details and the aligned face images (``NAME_aligned/``). They often sit beside the
#: corpus (``mmemo synth`` writes ``openface/`` into it) and ``mmemo ingest openface`` takes
#: them, so ``ingest ravdess`` counts them instead of naming each as "not a RAVDESS file".
OPENFACE_SUFFIXES = (".csv", ".hog")
OPENFACE_DETAILS = "_of_details"
OPENFACE_ALIGNED = "_aligned"


@register_corpus
class RavdessAdapter(CorpusAdapter):
    """RAVDESS (Livingstone & Russo, 2018): ``Actor_NN/MM-VV-EE-II-SS-RR-AA.{wav,mp4}``, every
    field in the name; clip ids are the stems."""

    name = "ravdess"
    title = "RAVDESS"
    vocabulary = VOCABULARY

    def looks_like(self, item: SourceFile) -> bool:
        return looks_like_ravdess(item.stem)

    def clip(self, item: SourceFile, tables: CorpusTables) -> Clip:
        return parse_name(item.stem).as_clip()

    def sibling_kind(self, item: SourceFile) -> str | None:
        """OpenFace's outputs for a RAVDESS video (:data:`OPENFACE_SUFFIXES`)."""
        if item.suffix in OPENFACE_SUFFIXES and looks_like_ravdess(item.stem):
            return "OpenFace output"
        if item.stem.endswith(OPENFACE_DETAILS) and looks_like_ravdess(
            item.stem.removesuffix(OPENFACE_DETAILS)
        ):
            return "OpenFace output"
        if item.folder.endswith(OPENFACE_ALIGNED) and looks_like_ravdess(
            item.folder.removesuffix(OPENFACE_ALIGNED)
        ):
            return "OpenFace output"
        return None
