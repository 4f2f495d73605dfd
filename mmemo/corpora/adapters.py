"""Corpus adapters: what turns a corpus's files into clips, one adapter per corpus layout.

An adapter (:class:`CorpusAdapter`) knows one corpus: which files are its media and what each
one's name says (:meth:`~CorpusAdapter.clip`: speaker, label, intensity, the take it belongs
to ...), which files around them are its tables (:meth:`~CorpusAdapter.read_tables`: the
speakers' sex and age, raters' votes), its label set (:attr:`~CorpusAdapter.vocabulary`,
recorded for the dataset at its first ingest) and its clip ids. ``mmemo ingest NAME DIR``
ingests through the adapter registered as ``NAME`` (:mod:`mmemo.corpora.ingest`).

Adapters are registered in :data:`CORPORA`: the built-ins by name, and installed packages'
through the entry-point group ``mmemo.corpora`` (name → a :class:`CorpusAdapter` subclass).

Clip ids are unique across corpora: RAVDESS keeps its file stems (``01-01-05-02-01-01-16``,
as every store before other corpora had them); every other corpus prefixes its own file name
with the dataset's name (``crema-d:1001_DFA_ANG_XX.wav``), so that the audio and the video file
of one take are two clips, and a store holding several corpora joins on ``clip_id`` alone.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from mmemo.corpora.sources import Enumeration, SourceFile, enumerate_sources
from mmemo.registry import Registry
from mmemo.store.vocabulary import Vocabulary

C = TypeVar("C", bound=type)


class InvalidNameError(ValueError):
    """A name shaped like one of a corpus's file names has a field out of range."""


@dataclass(frozen=True)
class Clip:
    """One media file of a corpus, as its adapter reads it: a row of ``lake.clips`` but for
    where the file is and what its header says (the ingest adds those)."""

    clip_id: str
    modality: int  # as RAVDESS numbers them: 1 full-AV, 2 video-only, 3 audio-only
    emotion: int  # the class code in the corpus's vocabulary
    label: str
    actor: int | None  # the speaker's number, folds group by it (None: the ingest numbers it)
    speaker: str  # the corpus's own name of the speaker
    gender: str | None = None  # "male" | "female" | None (not recorded)
    age: int | None = None
    vocal_channel: int | None = 1  # 1 speech, 2 song
    intensity: int | None = None  # the corpus's own levels (RAVDESS 1-2, CREMA-D 1-3)
    statement: int | None = None  # which sentence, numbered as the corpus does
    repetition: int | None = None
    performance: str | None = None  # the take the file is one of (None: derived, RAVDESS)

    @property
    def has_audio(self) -> bool:
        return self.modality in (1, 3)

    @property
    def has_video(self) -> bool:
        return self.modality in (1, 2)

    def as_row(self) -> dict[str, Any]:
        """The clip's columns (a shallow copy: ``dataclasses.asdict`` deep-copies, four times
        slower over a quarter of a million clips)."""
        row = {f.name: getattr(self, f.name) for f in _CLIP_FIELDS}
        return {**row, "has_audio": self.has_audio, "has_video": self.has_video}


_CLIP_FIELDS = fields(Clip)


@dataclass(frozen=True)
class Speaker:
    """What a corpus's table says of one speaker."""

    gender: str | None = None
    age: int | None = None


@dataclass
class CorpusTables:
    """What an adapter reads from a corpus's own tables before naming its clips.

    Attributes:
        speakers: By the corpus's speaker name.
        ratings: Perceived labels, as rows of ``lake.clip_ratings`` without ``ingest_id`` and
            ``dataset`` (``performance, modality, emotion, label, votes, responses,
            agreement``).
        labels: Label codes a corpus keeps apart from its file names, by file stem
            (IEMOCAP's evaluations).
        files: The tables read, for the report.
    """

    speakers: dict[str, Speaker] = field(default_factory=dict)
    ratings: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # a label file's code by file stem
    files: list[Path] = field(default_factory=list)


class CorpusAdapter(abc.ABC):
    """One corpus's layout. Subclasses set the class attributes and implement
    :meth:`looks_like` and :meth:`clip`. The registry holds one instance of each, which
    serves every ingest; an adapter that needs options (a manifest's) is made per ingest."""

    #: The adapter's name: the ``mmemo ingest`` command and ``clips.dataset``.
    name: ClassVar[str]
    #: The corpus's name in messages ("RAVDESS").
    title: ClassVar[str]
    #: The corpus's classes in its own order, recorded for the dataset at its first ingest.
    vocabulary: ClassVar[Vocabulary]
    #: The file suffixes (lower case) of its media.
    media_suffixes: ClassVar[frozenset[str]] = frozenset({".wav", ".mp4"})

    @abc.abstractmethod
    def looks_like(self, item: SourceFile) -> bool:
        """True when ``item`` is named like one of the corpus's media files (the fields may
        still be out of range: :meth:`clip` says so)."""

    @abc.abstractmethod
    def clip(self, item: SourceFile, tables: CorpusTables) -> Clip:
        """The clip a file named like the corpus's is.

        Raises:
            InvalidNameError: a field of the name is out of range; the message names it.
        """

    def enumerate(self, sources: list[Path]) -> Enumeration:
        """The files of ``sources`` (directories, zip archives, lists of names) whose suffix
        is one of :attr:`media_suffixes`; what else they hold is counted."""
        return enumerate_sources(sources, self.media_suffixes)

    def read_tables(self, sources: list[Path]) -> CorpusTables:
        """The corpus's own tables found in ``sources`` (directories): none by default."""
        return CorpusTables()

    def sibling_kind(self, item: SourceFile) -> str | None:
        """The kind of a non-media file that belongs with the corpus (counted, not named as
        skipped), or None."""
        return None


#: Every corpus ``mmemo ingest`` knows: built-ins, then installed packages' ``mmemo.corpora``
#: entry points.
CORPORA: Registry[CorpusAdapter] = Registry(
    "corpus",
    {
        "ravdess": "mmemo.corpora.ravdess:RavdessAdapter",
        "crema-d": "mmemo.corpora.crema_d:CremaDAdapter",
        "iemocap": "mmemo.corpora.iemocap:IemocapAdapter",
        "manifest": "mmemo.corpora.manifest:ManifestAdapter",
        "emobox": "mmemo.corpora.emobox:EmoBoxAdapter",
        "audformat": "mmemo.corpora.audformat_db:AudformatAdapter",
    },
    entry_points="mmemo.corpora",
)
#: Class decorator that registers a corpus adapter; refuses a name that is taken.
register_corpus: Callable[[C], C] = CORPORA.register


def get_corpus(name: str) -> CorpusAdapter:
    """The adapter registered as ``name``.

    Raises:
        InputError: unknown name, listing the corpora.
    """
    return CORPORA.get(name)
