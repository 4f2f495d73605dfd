"""The recordings a synthetic RAVDESS actor makes, and the traits drawn for each actor.

The file names are the real corpus's (:func:`mmemo.corpora.ravdess.corpus_names`); each
recording (one stem without its modality) is drawn from its own random streams, seeded from the
corpus seed, a stream number and the stem's fields, never from Python's ``hash``. The face
templates live here because an actor's landmarks are one of its traits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from mmemo.corpora.openface_columns import AU_INTENSITY_COLUMNS
from mmemo.corpora.ravdess import ACTORS, ClipName, corpus_names, parse_name
from mmemo.errors import InputError

_STRONG = 1.5  # how much further from neutral a strong rendition goes


@dataclass(frozen=True)
class Recording(ClipName):
    """One recording, and what it looks like: the fields of the real corpus's names, parsed
    by its own parser (:func:`~mmemo.corpora.ravdess.parse_name`) from the first stem the
    recording appears in. A recording is all its modalities at once: nothing drawn from it
    reads that stem's ``clip_id`` or ``modality``."""

    @classmethod
    def of(cls, stem: str) -> Recording:
        """The recording a file stem shows."""
        return cls(**asdict(parse_name(stem)))

    @property
    def strength(self) -> float:
        return _STRONG if self.intensity == 2 else 1.0

    def seed_words(self, seed: int, stream: int) -> list[int]:
        fields = (self.vocal_channel, self.emotion, self.intensity, self.statement, self.repetition)
        return [seed, stream, self.actor, *fields]


#: Random streams of a recording: each medium draws from its own, seeded with the stream number.
AUDIO_STREAM, VIDEO_STREAM, FACE_STREAM, DURATION_STREAM = 1, 2, 3, 4


@dataclass(frozen=True)
class Actor:
    """Actor traits drawn once per actor from the seed."""

    number: int
    f0: float
    level_db: float
    skin: tuple[int, int, int]
    face_xy: tuple[float, float]
    face_scale: float
    expressiveness: float  # scales the AU prototypes
    au_offset: np.ndarray  # (17,) added to every AU intensity
    shape_params: np.ndarray  # (34,) OpenFace PDM parameters
    landmarks: np.ndarray  # (68, 2) normalised 2D template
    eye_landmarks: np.ndarray  # (56, 2) normalised 2D template


def select_actors(actors: int | Sequence[int]) -> list[int]:
    """Actor numbers from ``N`` (actors 1..N) or a sequence of numbers, sorted and distinct.

    Raises:
        InputError: a number outside 1-24, or none given.
    """
    if isinstance(actors, (int, np.integer)):
        if not 1 <= actors <= 24:
            raise InputError(f"actors must be between 1 and 24, got {actors}")
        return list(range(1, int(actors) + 1))
    chosen = sorted({int(a) for a in actors})
    bad = [a for a in chosen if a not in ACTORS]
    if bad or not chosen:
        raise InputError(f"unknown actor(s) {bad or '(none given)'}; expected numbers 1-24")
    return chosen


def actor_recordings(actor: int) -> Iterator[tuple[Recording, list[str]]]:
    """The recordings of one actor with the stems (modalities) each appears in."""
    by_key: dict[str, list[str]] = {}
    for stem in corpus_names():
        if stem.endswith(f"-{actor:02d}"):
            by_key.setdefault(stem[3:], []).append(stem)
    for stems in by_key.values():
        yield Recording.of(stems[0]), stems


def recording_duration(rec: Recording, seed: int, seconds: float) -> float:
    """The recording's duration: ``seconds`` varied by up to ±25 %, in whole milliseconds."""
    rng = np.random.default_rng(rec.seed_words(seed, DURATION_STREAM))
    # Whole milliseconds, so that sample and frame counts are exact and reproducible; at least
    # 50 ms, so that every file has a few video frames and OpenFace rows.
    return max(0.05, round(seconds * float(rng.uniform(0.75, 1.25)), 3))


# --------------------------------------------------------------------------------------------
# Actors
# --------------------------------------------------------------------------------------------


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int, a0: float = 0.0) -> np.ndarray:
    a = a0 + 2 * np.pi * np.arange(n) / n
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], axis=1)


def _landmark_template() -> np.ndarray:
    """A rough mean face in the iBUG 68-point order, in units of face width (y down)."""
    a = np.pi * np.arange(17) / 16
    jaw = np.stack([-0.5 * np.cos(a), 0.62 * np.sin(a) - 0.05], axis=1)
    bx = np.linspace(-0.42, -0.08, 5)
    brow_l = np.stack([bx, -0.27 - 0.05 * np.sin(np.linspace(0.3, 2.8, 5))], axis=1)
    brow_r = brow_l[::-1] * (-1, 1)
    bridge = np.stack([np.zeros(4), np.linspace(-0.15, 0.1, 4)], axis=1)
    nostrils = np.stack([np.linspace(-0.1, 0.1, 5), 0.17 + 0.02 * np.cos(np.linspace(-1, 1, 5))], 1)
    eye_l = _ellipse(-0.22, -0.12, 0.08, 0.03, 6, np.pi)
    eye_r = _ellipse(0.22, -0.12, 0.08, 0.03, 6, np.pi)
    outer = _ellipse(0.0, 0.36, 0.2, 0.07, 12, np.pi)
    inner = _ellipse(0.0, 0.36, 0.12, 0.025, 8, np.pi)
    return np.vstack([jaw, brow_l, brow_r, bridge, nostrils, eye_l, eye_r, outer, inner])


def _eye_template() -> np.ndarray:
    """OpenFace's 56 eye landmarks (28 per eye: 8 lid, 8 iris, 12 more lid/pupil points)."""
    eyes = []
    for cx in (-0.22, 0.22):
        lid = _ellipse(cx, -0.12, 0.085, 0.032, 20, np.pi)
        iris = _ellipse(cx, -0.12, 0.025, 0.025, 8)
        eyes += [lid, iris]
    return np.vstack(eyes)


LANDMARK_TEMPLATE = _landmark_template()
EYE_TEMPLATE = _eye_template()


def actor_traits(actor: int, seed: int) -> Actor:
    """The traits of ``actor``, drawn from ``seed`` (female actors, even numbers, speak higher)."""
    rng = np.random.default_rng([seed, 0, actor])
    female = actor % 2 == 0
    f0 = (205.0 if female else 115.0) * 2 ** (rng.normal(0.0, 1.5) / 12)
    skin = tuple(int(v) for v in np.clip(rng.normal((200, 160, 130), 25), 40, 250))
    landmarks = LANDMARK_TEMPLATE * (1 + rng.normal(0, 0.04, (1, 2))) + rng.normal(0, 0.01, (68, 2))
    eyes = EYE_TEMPLATE * (1 + rng.normal(0, 0.03, (1, 2))) + rng.normal(0, 0.004, (56, 2))
    return Actor(
        number=actor,
        f0=float(f0),
        level_db=float(rng.normal(0.0, 1.5)),
        skin=(skin[0], skin[1], skin[2]),
        face_xy=(float(rng.normal(640, 40)), float(rng.normal(330, 25))),
        face_scale=float(rng.uniform(170, 230)),
        expressiveness=float(rng.uniform(0.5, 1.3)),
        au_offset=np.clip(rng.normal(0.2, 0.35, len(AU_INTENSITY_COLUMNS)), -0.1, 1.2),
        shape_params=rng.normal(0.0, 8.0, 34) / np.arange(1, 35) ** 0.5,
        landmarks=landmarks,
        eye_landmarks=eyes,
    )


def smooth_noise(rng: np.random.Generator, n: int, cols: int, width: int) -> np.ndarray:
    """Gaussian noise smoothed along time by a moving average of ``width`` steps, unit std."""
    width = max(1, min(width, n))
    raw = rng.standard_normal((n + width - 1, cols))
    csum = np.cumsum(raw, axis=0)
    csum = np.vstack([np.zeros((1, cols)), csum])
    return (csum[width:] - csum[:-width]) / np.sqrt(width)
