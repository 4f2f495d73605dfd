"""CREMA-D (Cao et al., 2014): 7,442 takes by 91 actors, each as a WAV and an FLV file.

The corpus's layout::

    AudioWAV/1001_DFA_ANG_XX.wav          audio-only (16 kHz mono)
    VideoFlash/1001_DFA_ANG_XX.flv        audio and video
    VideoDemographics.csv                 ActorID, Age, Sex, Race, Ethnicity
    processedResults/tabulatedVotes.csv   raters' votes per take and presentation (optional)

A name is ``AAAA_SSS_EEE_LL``: the actor (1001-1091), the sentence (one of twelve, three
letters), the acted emotion (ANG, DIS, FEA, HAP, NEU, SAD) and its level (LO, MD, HI, or XX:
unspecified). The WAV and the FLV file of one take share the name, so a clip id carries the
file's suffix (``crema-d:1001_DFA_ANG_XX.wav``) and the name is the take's ``performance``.

``tabulatedVotes.csv`` holds, per take and presentation (its row number's first digit: 1 the
voice alone, 2 the face alone, 3 both), what the crowd chose (``emoVote``, a letter; ``A:D``
is a tie), how many answered and their agreement: ingested as the perceived labels
(``clip_ratings``; the view ``perceived_labels`` sets them beside each clip's acted label).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from mmemo.corpora.adapters import (
    Clip,
    CorpusAdapter,
    CorpusTables,
    InvalidNameError,
    Speaker,
    register_corpus,
)
from mmemo.corpora.sources import SourceFile
from mmemo.errors import InputError
from mmemo.store.vocabulary import Vocabulary

#: The acted emotions by their code in file names, in the corpus's (alphabetical) order:
#: class code ``i + 1`` at index ``i``. Labels are spelled as RAVDESS spells them, so that
#: label maps across the two read alike.
EMOTIONS: dict[str, str] = {
    "ANG": "angry",
    "DIS": "disgust",
    "FEA": "fearful",
    "HAP": "happy",
    "NEU": "neutral",
    "SAD": "sad",
}
VOCABULARY = Vocabulary(tuple(range(1, len(EMOTIONS) + 1)), tuple(EMOTIONS.values()))
#: The letter ``tabulatedVotes.csv`` writes for each emotion code.
VOTE_LETTERS = {code[0]: code for code in EMOTIONS}
#: Emotion levels in names: intensity 1-3, XX unspecified (every sentence but IEO).
LEVELS: dict[str, int | None] = {"LO": 1, "MD": 2, "HI": 3, "XX": None}
#: The twelve sentences in the corpus's order (statement ``i + 1``; SentenceFilenames.csv).
SENTENCES: dict[str, str] = {
    "IEO": "It's eleven o'clock",
    "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting",
    "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full",
    "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock",
    "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket",
    "ITS": "I think I've seen this before",
    "TSI": "The surface is slick",
    "WSI": "We'll stop in a couple of minutes",
}
ACTORS = range(1001, 1092)
#: The modality of each media suffix: FLV files hold voice and face, WAV files the voice.
MODALITY_OF = {".flv": 1, ".wav": 3}
#: The presentation of a vote (its row number's first digit) as a clip modality.
VOTE_MODALITY = {1: 3, 2: 2, 3: 1}
DEMOGRAPHICS = "VideoDemographics.csv"
VOTES = "tabulatedVotes.csv"

_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")
_VOTE_COLUMNS = ("fileName", "numResponses", "agreement", "emoVote")


@register_corpus
class CremaDAdapter(CorpusAdapter):
    """CREMA-D (Cao et al., 2014): ``AudioWAV/*.wav`` and ``VideoFlash/*.flv``, speakers' sex
    and age from ``VideoDemographics.csv``, crowd votes from ``tabulatedVotes.csv``."""

    name = "crema-d"
    title = "CREMA-D"
    vocabulary = VOCABULARY
    media_suffixes = frozenset(MODALITY_OF)

    def looks_like(self, item: SourceFile) -> bool:
        return bool(_NAME.match(item.stem))

    def clip(self, item: SourceFile, tables: CorpusTables) -> Clip:
        actor, sentence, emotion, level = parse_name(item.stem)
        modality = MODALITY_OF.get(item.suffix)
        if modality is None:
            raise InvalidNameError(
                f"'{item.stem}': no file suffix says whether it is the take's audio (.wav) or "
                "its video (.flv)"
            )
        speaker = tables.speakers.get(str(actor), Speaker())
        return Clip(
            clip_id=f"{self.name}:{item.stem}{item.suffix}",
            modality=modality,
            emotion=VOCABULARY.codes[list(EMOTIONS).index(emotion)],
            label=EMOTIONS[emotion],
            actor=actor,
            speaker=str(actor),
            gender=speaker.gender,
            age=speaker.age,
            vocal_channel=1,
            intensity=LEVELS[level],
            statement=list(SENTENCES).index(sentence) + 1,
            performance=item.stem,
        )

    def read_tables(self, sources: list[Path]) -> CorpusTables:
        tables = CorpusTables()
        demographics = _find(sources, DEMOGRAPHICS)
        if demographics is not None:
            tables.speakers = read_demographics(demographics)
            tables.files.append(demographics)
        votes = _find(sources, VOTES)
        if votes is not None:
            tables.ratings = read_votes(votes)
            tables.files.append(votes)
        return tables


def parse_name(stem: str) -> tuple[int, str, str, str]:
    """``(actor, sentence, emotion, level)`` of a CREMA-D file stem.

    Raises:
        InvalidNameError: not shaped ``AAAA_SSS_EEE_LL``, or a field out of range.
    """
    match = _NAME.match(stem)
    if match is None:
        raise InvalidNameError(f"'{stem}' is not a CREMA-D name (expected AAAA_SSS_EEE_LL)")
    actor, sentence, emotion, level = match.groups()
    checks = (
        ("actor", int(actor), ACTORS),
        ("sentence", sentence, SENTENCES),
        ("emotion", emotion, EMOTIONS),
        ("level", level, LEVELS),
    )
    for what, value, valid in checks:
        if value not in valid:
            raise InvalidNameError(f"'{stem}': {what} {value} is out of range")
    return int(actor), sentence, emotion, level


def _find(sources: list[Path], name: str) -> Path | None:
    """The corpus table ``name`` in a source folder, its ``processedResults/`` or the folder
    above (a user may point at ``CREMA-D/AudioWAV``)."""
    for source in sources:
        if not source.is_dir():
            continue
        for folder in (source, source / "processedResults", source.parent):
            for candidate in (folder / name, folder / "processedResults" / name):
                if candidate.is_file():
                    return candidate
    return None


def _rows(path: Path, needed: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of a CSV table that must have the columns ``needed``.

    Raises:
        InputError: unreadable, or a needed column missing; the message names the file.
    """
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in needed if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(f"{path}: no column {', '.join(missing)}")
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None


def read_demographics(path: Path) -> dict[str, Speaker]:
    """Each actor's sex and age (``VideoDemographics.csv``), by actor number as text.

    Raises:
        InputError: unreadable, a column missing, or an age that is not a number.
    """
    speakers = {}
    for line, row in enumerate(_rows(path, ("ActorID", "Age", "Sex")), start=2):
        sex = row["Sex"].strip().lower()
        try:
            age = int(row["Age"]) if row["Age"].strip() else None
        except ValueError:
            raise InputError(f"{path}:{line}: age {row['Age']!r} is not a number") from None
        speakers[row["ActorID"].strip()] = Speaker(sex if sex in ("male", "female") else None, age)
    return speakers


def read_votes(path: Path) -> list[dict[str, object]]:
    """The crowd's verdict per take and presentation (``tabulatedVotes.csv``) as rows of
    ``lake.clip_ratings``: a tie (``A:D``) has no perceived class.

    Raises:
        InputError: unreadable, a column missing, or a row whose number, name or vote is not
            the corpus's; the message names the file and line.
    """
    rows = []
    for line, row in enumerate(_rows(path, _VOTE_COLUMNS), start=2):
        number = row.get("") or row.get("X") or ""
        try:
            modality = VOTE_MODALITY[int(number) // 100_000]
            parse_name(row["fileName"])
            letters = row["emoVote"].split(":")
            codes = [VOTE_LETTERS[letter] for letter in letters]
            responses = int(row["numResponses"])
            agreement = float(row["agreement"])
        except (KeyError, ValueError, InvalidNameError) as exc:
            raise InputError(f"{path}:{line}: not a CREMA-D vote ({exc})") from None
        tied = len(codes) > 1
        rows.append(
            {
                "performance": row["fileName"],
                "modality": modality,
                "emotion": None if tied else list(EMOTIONS).index(codes[0]) + 1,
                "label": None if tied else EMOTIONS[codes[0]],
                "votes": row["emoVote"],
                "responses": responses,
                "agreement": agreement,
            }
        )
    return rows
